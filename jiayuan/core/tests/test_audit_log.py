"""操作记录: every audit action reads as Chinese, sentences name people by display name, filters."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from jiayuan.core import extensions
from jiayuan.core.audit import audit_record
from jiayuan.core.permissions import Role
from jiayuan.core.selectors import audit_actor_choices, audit_event_list

SOURCE = Path(__file__).resolve().parents[2]  # the jiayuan package


def _strings(node) -> list[str] | None:
    """The action strings an ``action=`` argument can take: a literal, either side of
    ``"a" if x else "b"``; None for anything else (an f-string, a name)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            yield name, node


def _string_args(tree, function: str, position: int, keyword: str) -> set[str]:
    """Every literal passed to ``function`` as its ``position``-th argument or as ``keyword``."""
    found = set()
    for name, call in _calls(tree):
        if name != function:
            continue
        args = [kw.value for kw in call.keywords if kw.arg == keyword]
        if len(call.args) > position:
            args.append(call.args[position])
        for arg in args:
            found.update(_strings(arg) or ())
    return found


def _dynamic(template: str, trees) -> set[str] | None:
    """The actions an f-string ``action=`` can produce, for the ones the code base has; None for a
    new kind of f-string (label its values and teach this test where they come from)."""
    from jiayuan.supplies.choices import IssueKind

    if template == "supplies.group_buy_{action}":  # _audit_status(actor, gb, before, "select")
        return {f"supplies.group_buy_{a}" for t in trees for a in _string_args(t, "_audit_status", 3, "action")}
    if template == "supplies.{kind}_export":  # export_record(kind="sorting")
        return {f"supplies.{k}_export" for t in trees for k in _string_args(t, "export_record", 99, "kind")}
    if template == "supplies.{kind}":  # group_buy_issue_record: a complaint or a refund
        return {f"supplies.{k}" for k in IssueKind.values}
    return None


def _fstring_template(node: ast.JoinedStr) -> str:
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(value.value)
        else:
            parts.append("{" + ast.unparse(value.value) + "}")
    return "".join(parts)


def _from_name(name: str, function: ast.FunctionDef, trees) -> set[str] | None:
    """The actions a plain name passed as ``action=`` can hold: a parameter of the function
    (the literals its callers pass) or a local variable (the dotted literals assigned to it)."""
    params = [a.arg for a in function.args.args]
    if name in params:
        index = params.index(name)
        found = set()
        for tree in trees:
            found |= _string_args(tree, function.name, index, name)
            if params and params[0] in ("self", "cls"):  # called as self.fn(...): no self argument
                found |= _string_args(tree, function.name, index - 1, name)
        return found
    values = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
    ]
    found = {
        c.value
        for value in values
        for c in ast.walk(value)
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and "." in c.value
    }
    return found or None


def collect_actions() -> set[str]:
    """Every action the code writes to the audit log: the ``action=`` of each ``audit_record(...)``
    and ``AuditEvent(...)`` outside the tests."""
    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in SOURCE.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts and path.name != "audit.py"
    ]
    actions: set[str] = set()
    unknown: list[str] = []
    for tree in trees:
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for name, call in _calls(tree):
            if name not in ("audit_record", "AuditEvent"):
                continue
            for kw in call.keywords:
                if kw.arg != "action":
                    continue
                values = _strings(kw.value)
                if values is None and isinstance(kw.value, ast.JoinedStr):
                    values = _dynamic(_fstring_template(kw.value), trees)
                elif values is None and isinstance(kw.value, ast.Name):
                    inside = [f for f in functions if any(n is call for n in ast.walk(f))]
                    values = _from_name(kw.value.id, inside[-1], trees) if inside else None
                if values is None:
                    unknown.append(ast.unparse(kw.value))
                else:
                    actions.update(values)
    assert not unknown, f"audit actions this test cannot enumerate, teach it: {unknown}"
    return actions


def test_every_audit_action_in_the_code_has_a_chinese_label():
    actions = collect_actions()
    assert len(actions) > 80  # the collector really found the code base's actions
    labelled = {a for kind in extensions.audit_kinds() for a in kind.actions}
    missing = sorted(actions - labelled)
    assert not missing, f"add these to the app's audit_labels.py: {missing}"
    for action in actions:
        label = str(extensions.audit_label(action))
        assert label and action not in label


def test_an_unknown_action_reads_with_its_code():
    assert str(extensions.audit_label("nobody.labelled")) == "执行了 nobody.labelled"


@pytest.fixture
def leader(make_user, building):
    user = make_user(Role.BUILDING_LEADER, building, username="leader")
    user.display_name = "杨阿姨"
    user.save(update_fields=["display_name"])
    return user


@pytest.fixture
def events(head, leader, neighbourhood, other_neighbourhood, make_user):
    outsider = make_user(Role.COMMITTEE_HEAD, other_neighbourhood, username="outsider")
    at = timezone.make_aware(dt.datetime(2026, 3, 5, 14, 2))
    with time_machine.travel(at, tick=False):
        sample = audit_record(
            actor=leader, action="screening.sample", object_repr="1号楼 302室 张**", neighbourhood_id=neighbourhood.pk
        )
    with time_machine.travel(at + dt.timedelta(days=2), tick=False):
        export = audit_record(
            actor=head, action="roster.export", object_repr="名单 30 人", neighbourhood_id=neighbourhood.pk
        )
    other = audit_record(
        actor=outsider, action="screening.sample", object_repr="别处", neighbourhood_id=other_neighbourhood.pk
    )
    return {"sample": sample, "export": export, "other": other}


def test_the_page_reads_as_sentences_with_display_names(client, head, events):
    client.force_login(head)
    response = client.get(reverse("core:audit"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "操作记录" in html
    assert "杨阿姨" in html
    assert ">leader<" not in html
    assert "登记了核酸采样" in html
    assert "1号楼 302室 张**" in html
    assert "3月5日 14:02" in html  # zh-hans MONTH_DAY_FORMAT and the local time
    assert "导出了居民名册" in html
    assert "别处" not in html  # another neighbourhood's record


def test_filters_by_person_kind_and_days(client, head, leader, events):
    client.force_login(head)
    url = reverse("core:audit")

    def shown(**params):
        html = client.get(url, params).content.decode()
        return {name for name, e in events.items() if e.object_repr in html}

    assert shown() == {"sample", "export"}
    assert shown(actor=leader.pk) == {"sample"}
    assert shown(actor=head.pk) == {"export"}
    assert shown(kind="screening") == {"sample"}
    assert shown(kind="people") == {"export"}
    assert shown(date_from="2026-03-06") == {"export"}
    assert shown(date_to="2026-03-05") == {"sample"}
    assert shown(date_from="2026-03-05", date_to="2026-03-05") == {"sample"}
    assert shown(date_from="2026-03-06", date_to="2026-03-06") == set()
    # A person from elsewhere is not a choice: that filter is refused, the rest still apply.
    outsider = events["other"].actor
    response = client.get(url, {"actor": outsider.pk, "kind": "people"})
    assert response.status_code == 200
    assert {n for n, e in events.items() if e.object_repr in response.content.decode()} == {"export"}
    # Nonsense never gives a 500.
    assert client.get(url, {"actor": "x", "date_from": "2026-13-40", "kind": "nope", "page": "-1"}).status_code == 200


def test_selector_scopes_filters_and_actor_choices(head, leader, events, neighbourhood):
    day = dt.date(2026, 3, 5)
    assert list(audit_event_list(user=head, actor_id=leader.pk)) == [events["sample"]]
    assert list(audit_event_list(user=head, kind="unknown")) == []
    assert list(audit_event_list(user=head, date_from=day, date_to=day)) == [events["sample"]]
    names = [str(u) for u in audit_actor_choices(user=head)]
    assert "杨阿姨" in names
    assert "head" in names
    assert "outsider" not in names


def test_only_who_may_view_audit_sees_it(client, leader, events):
    client.force_login(leader)
    assert client.get(reverse("core:audit")).status_code == 404
    assert list(audit_event_list(user=leader)) == []


def test_menu_calls_it_operation_records(client, head):
    client.force_login(head)
    html = client.get(reverse("core:audit")).content.decode()
    assert 'href="/audit/">操作记录</a>' in html
    assert ">审计<" not in html


def test_who_without_an_account_reads_in_words(client, head, neighbourhood):
    for actor, shown in [("system", "系统"), ("household-link", "住户(住户链接)"), ("cli:root", "命令行 (root)")]:
        audit_record(actor=actor, action="roster.import", object_repr=f"由 {actor}", neighbourhood_id=neighbourhood.pk)
        client.force_login(head)
        html = client.get(reverse("core:audit")).content.decode()
        assert f'<b>{shown}</b> 导入了居民名册 · <span class="audit-object">由 {actor}</span>' in html
