"""The site layer: pages, search, sitemaps and API routes that combine the domain apps.

Layers, each importing only those below it (``tests/test_layers.py`` checks):

1. the core, ``migrationsupport`` outside this package: publishing, values, rich text, the
   API, admin, filter and page bases, caching. It names no domain app;
2. ``regions``;
3. ``funding`` and ``agreements``, which may use ``regions`` but not each other;
4. this package, and the root URLs (``migrationsupport.urls``).
"""
