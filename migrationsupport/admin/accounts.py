"""Accounts and roles (users and groups) in the admin, for superusers only whatever permissions
a user was given. Importing this module replaces the ``User`` and ``Group`` admins.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User


class SuperuserOnlyMixin:
    """Only superusers see or change accounts and roles, whatever permissions a user was given."""

    def _is_superuser(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_add_permission(self, request):
        return self._is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_superuser(request)


for _model, _admin_class in ((User, UserAdmin), (Group, GroupAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(
        _model, type(f"Officer{_admin_class.__name__}", (SuperuserOnlyMixin, _admin_class), {})
    )
