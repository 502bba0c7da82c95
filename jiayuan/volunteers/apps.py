from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

HELP_SECTIONS = {
    "volunteers": {"zh": "volunteers", "en": "volunteers"},
    "volunteers-duty": {"zh": "volunteers#今日值班和我的班次", "en": "volunteers#todays-duty-and-my-shifts"},
    "volunteers-roster": {"zh": "volunteers#志愿者名册", "en": "volunteers#the-volunteer-register"},
    "volunteers-teams": {"zh": "volunteers#队伍", "en": "volunteers#teams"},
    "volunteers-shifts": {"zh": "volunteers#排班和健康核验", "en": "volunteers#shifts-and-the-health-check"},
    "volunteers-hours": {
        "zh": "volunteers#服务时长和志愿服务证明",
        "en": "volunteers#hours-and-the-service-certificate",
    },
    "volunteers-apply": {"zh": "volunteers#居民报名", "en": "volunteers#residents-apply"},
}

HELP_KEYS = {
    "volunteers": "volunteers",
    "volunteers:index": "volunteers-duty",
    "volunteers:roster": "volunteers-roster",
    "volunteers:volunteer_create": "volunteers-roster",
    "volunteers:volunteer": "volunteers-roster",
    "volunteers:teams": "volunteers-teams",
    "volunteers:team": "volunteers-teams",
    "volunteers:shifts": "volunteers-shifts",
    "volunteers:shift": "volunteers-shifts",
    "volunteers:hours": "volunteers-hours",
    "volunteers:certificate": "volunteers-hours",
    "volunteers_household": "volunteers-apply",
}


class VolunteersConfig(AppConfig):
    name = "jiayuan.volunteers"
    label = "volunteers"
    verbose_name = _("志愿者")

    def ready(self) -> None:
        from jiayuan.core import extensions, help
        from jiayuan.core.permissions import Action
        from jiayuan.volunteers import audit_labels, demo, household_views, panels, reports, staffing, today

        extensions.nav_item(_("志愿者"), "volunteers:index", Action.VIEW_VOLUNTEERS, order=40)
        extensions.household_panel(household_views.panel)
        extensions.resident_panel(panels.resident)
        extensions.today_item(today.today, order=40)
        extensions.demo_loader(demo.load, order=40)
        # After gates' loader (50): today's gate shift is placed at a real gate.
        extensions.demo_loader(demo.load_gate_shift, order=55)
        extensions.staffing_provider(staffing.at_place)
        extensions.bulletin_section("volunteers", reports.bulletin, order=40)
        extensions.trend_series("volunteer_hours", _("志愿服务时长(小时)"), reports.hours_trend, order=40)
        extensions.rollup_column("volunteers_served", _("在岗志愿者"), reports.served_by_neighbourhood, order=40)
        help.register_sections(HELP_SECTIONS, HELP_KEYS)
        audit_labels.register()
