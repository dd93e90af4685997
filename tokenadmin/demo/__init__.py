"""Pages that exist only while `manage.py demo` runs (its mailbox), routed by root_urls.py."""
