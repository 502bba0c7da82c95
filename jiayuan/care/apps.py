from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "jiayuan.care"
    label = "care"
    verbose_name = _("民呼我应")

    def ready(self) -> None:
        from jiayuan.care import audit_labels, demo, household_views, today
        from jiayuan.core import extensions, help
        from jiayuan.core.permissions import Action

        extensions.nav_item(_("民呼我应"), "care:index", Action.VIEW_REQUESTS, order=35)
        extensions.household_panel(household_views.panel)
        extensions.home_panel(today.home_panel)
        extensions.today_item(today.today, order=35)
        extensions.demo_loader(demo.load, order=60)
        extensions.bulletin_section("care", today.bulletin, order=40)
        extensions.trend_series("care_requests", _("新收诉求"), today.trend_requests, order=60)
        extensions.trend_series("care_handled", _("办结诉求"), today.trend_handled, order=61)
        audit_labels.register()
        help.register_sections(
            {
                "care": {"zh": "care", "en": "care"},
                "care-handling": {"zh": "care#诉求的办理", "en": "care#handling-a-request"},
                "care-phone": {"zh": "care#电话登记", "en": "care#phone-log"},
                "care-errands": {"zh": "care#代配药", "en": "care#medicine-errands"},
                "care-trips": {"zh": "care#就医", "en": "care#medical-trips"},
                "care-visits": {"zh": "care#走访困难居民", "en": "care#visits-to-vulnerable-residents"},
                "care-support": {"zh": "care#心理支持", "en": "care#psychological-support"},
                "care-suggestions": {"zh": "care#意见征集", "en": "care#suggestions"},
                "care-settings": {"zh": "care#时限与走访频率", "en": "care#time-limits-and-visit-frequency"},
                "care-household": {
                    "zh": "care#住户页面上的求助与意见",
                    "en": "care#help-and-suggestions-on-the-household-page",
                },
            },
            {"care": "care", "care_household": "care-household"},
        )
