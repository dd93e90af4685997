"""`{% may realm "manage-users" as allowed %}`: hide what the admin's roles would refuse."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context: template.Context, realm: str, right: str) -> bool:
    rights = context.get("rights")
    return bool(rights) and rights.can(realm, right)
