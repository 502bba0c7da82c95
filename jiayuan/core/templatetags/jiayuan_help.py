"""``{% help_key %}``: the user-guide section of the current page (``core.help.DEFAULT_KEYS``)."""

from django import template

from jiayuan.core.help import help_key as _help_key

register = template.Library()


@register.simple_tag(takes_context=True)
def help_key(context) -> str:
    request = context.get("request")
    return _help_key(getattr(request, "resolver_match", None))
