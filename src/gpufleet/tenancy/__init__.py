"""Tenants: the tree of entitlements, grants and data-sovereignty rules."""
