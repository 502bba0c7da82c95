"""The user guide inside the app: ``docs/user-guide/{zh,en}/*.md`` rendered to HTML, and the
"帮助" link of every page, which opens the guide's section about that page.

A page's section is a language-neutral *key* (``"sampling"``), because the guide's headings and
so their anchors differ per language: ``SECTIONS`` maps each key to ``page#anchor`` in the
Chinese and the English guide. A template chooses its key with ``{% block help %}sampling{%
endblock %}``; without one, ``DEFAULT_KEYS`` picks it from the URL name (``"screening:sampler"``),
then the namespace (``"screening"``). Anchors are GitHub's heading slugs, so the same links work
when the guide is read on GitHub; ``core/tests/test_help_links.py`` checks that every key leads to
an existing page and heading in both languages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings

__all__ = ["DEFAULT_KEYS", "SECTIONS", "guide_lang", "help_key", "register_sections", "render_page", "section_url"]

# key -> {"zh": "page#anchor", "en": "page#anchor"}; an empty anchor opens the page's top.
SECTIONS: dict[str, dict[str, str]] = {
    "index": {"zh": "README", "en": "README"},
    "sign-in": {"zh": "setup#打开和登录", "en": "setup#opening-jiayuan-and-logging-in"},
    "home": {"zh": "setup#首页", "en": "setup#the-home-page"},
    "roster": {"zh": "roster", "en": "roster"},
    "household": {"zh": "roster#一户的页面", "en": "roster#a-households-page"},
    "resident-search": {"zh": "roster#搜索居民", "en": "roster#searching"},
    "resident-add": {"zh": "roster#新增居民", "en": "roster#adding-a-resident"},
    "resident-edit": {"zh": "roster#修改居民", "en": "roster#editing-a-resident"},
    "resident-delete": {"zh": "roster#删除登记", "en": "roster#deleting-a-record"},
    "reveal": {"zh": "roster#身份证号和电话-脱敏显示和查看", "en": "roster#id-numbers-and-phones-masked-and-show"},
    "import": {"zh": "import-export#二三步导入", "en": "import-export#2-the-three-steps-of-an-import"},
    "export": {"zh": "import-export#导出名单", "en": "import-export#exporting-the-roster"},
    "household-links": {"zh": "household-links#查看和打印", "en": "household-links#viewing-and-printing"},
    "household-page": {"zh": "household-links#居民扫码后看到什么", "en": "household-links#what-the-resident-sees"},
    "team": {"zh": "roles#怎样开通账号调整范围", "en": "roles#getting-an-account-changing-your-scope"},
    "audit": {"zh": "roles#操作记录", "en": "roles#activity-log-操作记录"},
    "account": {"zh": "account", "en": "account"},
    "two-factor": {"zh": "account#两步验证", "en": "account#two-step-verification"},
    "sign-in-lockout": {
        "zh": "account#登录失败太多次会暂时锁定",
        "en": "account#too-many-failed-sign-ins-lock-for-a-while",
    },
    "screening": {"zh": "screening#一轮核酸-一步一步", "en": "screening#a-round-step-by-step"},
    "round-create": {"zh": "screening#1-新建轮次", "en": "screening#1-create-the-round"},
    "plan": {"zh": "screening#2-采样点和分批安排", "en": "screening#2-stations-and-the-call-down-plan"},
    "codes": {"zh": "screening#3-核酸码", "en": "screening#3-sampling-codes"},
    "sampling": {
        "zh": "screening#4-采样-采样人员-手机单手操作",
        "en": "screening#4-sampling-samplers-one-handed-on-a-phone",
    },
    "results": {"zh": "screening#5-检测结果", "en": "screening#5-results"},
    "progress": {"zh": "screening#6-进度漏测和催测", "en": "screening#6-progress-missed-list-and-reminders"},
    "antigen": {"zh": "screening#抗原自测", "en": "screening#antigen-self-tests"},
    "control": {"zh": "control", "en": "control"},
    "zones": {
        "zh": "control#三区分区-封控区--管控区--防范区",
        "en": "control#the-three-zones-sealed--controlled--precaution",
    },
    "isolation-map": {"zh": "control#家庭隔离分布图", "en": "control#the-household-isolation-map"},
    "summary": {"zh": "control#防疫汇总统计表", "en": "control#the-summary-statistics-table"},
    "cases": {"zh": "control#登记阳性病例", "en": "control#recording-a-positive-case"},
    "quarantine": {"zh": "control#隔离与解除", "en": "control#quarantine-and-release"},
    "policy": {"zh": "control#隔离政策-书记", "en": "control#quarantine-policy-committee-head"},
    "health-checks": {"zh": "control#每日健康监测", "en": "control#daily-health-checks"},
    "returnees": {"zh": "control#返沪人员", "en": "control#returnees"},
    "supplies": {"zh": "supplies#2-一个团购从头到尾", "en": "supplies#2-a-group-buys-life"},
    "leaders": {"zh": "supplies#1-团长申请与审核", "en": "supplies#1-leaders-and-their-review"},
    "orders": {"zh": "supplies#3-下单", "en": "supplies#3-orders"},
    "sorting": {"zh": "supplies#4-分拣单与送货清单", "en": "supplies#4-sorting-sheets-and-delivery-checklists"},
    "handouts": {"zh": "supplies#5-政府保供包发放", "en": "supplies#5-government-packages"},
    "stock": {"zh": "supplies#6-捐赠与库存", "en": "supplies#6-donations-and-stock"},
    "appointments": {
        "zh": "supplies#7-稀缺物资预约-口罩预约",
        "en": "supplies#7-scarce-item-appointments-mask-appointments",
    },
}

# "namespace:url_name" or "namespace" -> key, for pages whose template sets no ``help`` block.
DEFAULT_KEYS: dict[str, str] = {
    "core:home": "home",
    "core:audit": "audit",
    "accounts": "sign-in",
    "accounts:account": "account",
    "accounts:otp_setup": "two-factor",
    "accounts:otp_verify": "two-factor",
    "accounts:otp_backup_codes": "two-factor",
    "team": "team",
    "places": "roster",
    "places:household": "household",
    "places:household_link_card": "household-links",
    "places:household_link_qr": "household-links",
    "people": "resident-search",
    "people:create": "resident-add",
    "people:edit": "resident-edit",
    "people:delete": "resident-delete",
    "people:reveal": "reveal",
    "people:import": "import",
    "people:import_status": "import",
    "people:import_commit": "import",
    "people:export": "export",
    "screening": "screening",
    "screening:plan": "plan",
    "screening:cards": "codes",
    "screening:sampler": "sampling",
    "screening:sampler_home": "sampling",
    "screening:sampler_person": "sampling",
    "screening:results": "results",
    "screening:results_preview": "results",
    "screening:retests": "results",
    "screening:missed": "progress",
    "screening:round": "progress",
    "screening:exemptions": "progress",
    "screening:antigen": "antigen",
    "screening:antigen_report": "antigen",
    "control": "control",
    "control:map": "isolation-map",
    "control:summary": "summary",
    "control:zones": "zones",
    "control:zone": "zones",
    "control:policy": "policy",
    "control:policy_edit": "policy",
    "control:cases": "cases",
    "control:case": "cases",
    "control:case_create": "cases",
    "control:quarantines": "quarantine",
    "control:quarantine": "quarantine",
    "control:quarantine_create": "quarantine",
    "control:release_notice": "quarantine",
    "control:checks": "health-checks",
    "control:check_record": "health-checks",
    "control:returnees": "returnees",
    "control:returnee_create": "returnees",
    "supplies": "supplies",
    "supplies:leaders": "leaders",
    "supplies:leader": "leaders",
    "supplies:leader_create": "leaders",
    "supplies:leader_review": "leaders",
    "supplies:proxy_order": "orders",
    "supplies:sorting": "sorting",
    "supplies:checklist": "sorting",
    "supplies:handouts": "handouts",
    "supplies:handout": "handouts",
    "supplies:campaigns": "appointments",
    "supplies:campaign": "appointments",
    "supplies:stock": "stock",
    "supplies:stock_item": "stock",
    "household_home": "household-page",
    "control_household": "household-page",
    "screening_household": "household-page",
    "supplies_household": "household-page",
}


def register_sections(sections: dict[str, dict[str, str]], default_keys: dict[str, str] | None = None) -> None:
    """An app adds its guide sections (and URL-name defaults) from its ``AppConfig.ready()``, so the
    new apps keep their help keys beside their own code."""
    SECTIONS.update(sections)
    DEFAULT_KEYS.update(default_keys or {})


def guide_lang(language_code: str | None) -> str:
    """The guide written in the user's language: Chinese unless the page is in English."""
    return "en" if (language_code or "").startswith("en") else "zh"


def help_key(resolver_match) -> str:
    """The section key of the page that ``resolver_match`` resolved ("" for the guide's index)."""
    if resolver_match is None:
        return ""
    namespace, name = resolver_match.namespace, resolver_match.url_name
    if namespace:
        return DEFAULT_KEYS.get(f"{namespace}:{name}", DEFAULT_KEYS.get(namespace, ""))
    return DEFAULT_KEYS.get(name or "", "")


def section_url(key: str, lang: str) -> str:
    """``/help/<lang>/<page>/#<anchor>`` of a key (an unknown key: the guide's index)."""
    from django.urls import reverse

    target = SECTIONS.get(key, SECTIONS["index"])[lang]
    page, _sep, anchor = target.partition("#")
    url = reverse("core:help_page", args=[lang, page])
    return f"{url}#{anchor}" if anchor else url


def guide_dir() -> Path:
    return Path(getattr(settings, "JIAYUAN_GUIDE_DIR", settings.BASE_DIR / "docs" / "user-guide"))


def slugify(text: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


@lru_cache(maxsize=64)
def _render(path: Path, mtime: float) -> tuple[str, str, tuple[str, ...]]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(path.read_text(encoding="utf-8"))
    title, ids, seen = "", [], {}
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            text = "".join(c.content for c in tokens[i + 1].children or () if c.type in ("text", "code_inline"))
            slug = slugify(text)
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchor = slug if n == 0 else f"{slug}-{n}"
            token.attrSet("id", anchor)
            ids.append(anchor)
            if token.tag == "h1" and not title:
                title = text
        elif token.type == "inline":
            unlink = False
            for child in token.children or ():
                if child.type == "link_open":
                    href = _guide_href(str(child.attrGet("href") or ""))
                    unlink = href is None
                    if unlink:
                        child.type, child.tag, child.content = "text", "", ""
                    else:
                        child.attrSet("href", href)
                elif child.type == "link_close" and unlink:
                    child.type, child.tag, child.content, unlink = "text", "", "", False
    return title, md.renderer.render(tokens, md.options, {}), tuple(ids)


def _guide_href(href: str) -> str | None:
    """A link between guide pages (``roster.md#搜索居民``) as a link inside the app
    (``../roster/#…``); None (plain text) for a file outside the guide (``../../operator-guide.md``),
    which the app does not serve."""
    if "://" in href or href.startswith(("#", "mailto:")):
        return href
    page, sep, anchor = href.partition("#")
    if page.endswith(".md") and "/" not in page:
        return f"../{page[:-3]}/{sep}{anchor}"
    other = re.fullmatch(r"\.\./(zh|en)/([A-Za-z0-9_-]+)\.md", page)  # the same page in the other language
    if other:
        return f"../../{other.group(1)}/{other.group(2)}/{sep}{anchor}"
    return None


def render_page(lang: str, page: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``(title, html, heading ids)`` of a guide page, or None if there is no such page."""
    if lang not in ("zh", "en") or not re.fullmatch(r"[A-Za-z0-9_-]+", page):
        return None
    path = guide_dir() / lang / f"{page}.md"
    if not path.is_file():
        return None
    return _render(path, path.stat().st_mtime)
