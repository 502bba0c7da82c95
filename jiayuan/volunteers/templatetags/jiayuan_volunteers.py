"""``{% vol_nav as vnav %}``: which volunteers pages the signed-in user may open (the sub-menu)."""

from django import template

from jiayuan.core.permissions import Action
from jiayuan.core.scoping import can

register = template.Library()


@register.simple_tag(takes_context=True)
def vol_nav(context) -> dict:
    user = context["request"].user
    return {"view": can(user, Action.VIEW_VOLUNTEERS), "hours": can(user, Action.MANAGE_SHIFTS)}
