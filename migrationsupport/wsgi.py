"""
WSGI config for migrationsupport project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "migrationsupport.settings")

application = get_wsgi_application()

# What lives as long as the process (modules, models, settings, the URL configuration: some
# 140 000 objects here) is moved out of the cyclic garbage collector's reach, so its full
# collections no longer walk it: one took 112 ms in a warmed worker, about once per hundred
# requests at +100 000 records (docs/performance.md). Each gunicorn worker imports this module
# itself (no --preload), after its fork.
get_resolver().url_patterns  # noqa: B018 - imports every app's URL module now, not on the first request
gc.collect()
gc.freeze()
