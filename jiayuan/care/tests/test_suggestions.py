"""Suggestions: grouping of differently worded Chinese texts, merge into a common issue, one
reply reaching every supporter's link page, the API."""

from __future__ import annotations

import pytest

from jiayuan.care import grouping, services
from jiayuan.care.models import Suggestion, SuggestionGroup
from jiayuan.core.models import AuditEvent
from jiayuan.places import services as places

pytestmark = pytest.mark.django_db

TOPICS = {
    "haircut": ["理发", "剪头发", "头发太长了想理发", "能不能请理发师来小区", "头发长了谁能帮忙剪一下"],
    "vegetables": ["蔬菜包太少了不够吃", "能不能多发点蔬菜", "想买新鲜蔬菜"],
    "parcels": ["快递什么时候能进小区", "快递能不能送到楼下", "快递放在门口好几天了"],
    "testing": ["核酸检测排队太久了", "做核酸排队等了两个小时", "核酸排队时间太长"],
    "internet": ["孩子上网课家里网络太差", "宽带断了孩子没法上网课", "网络太慢上网课卡"],
    "garbage": ["垃圾没人收楼道里臭", "垃圾桶满了没人清运", "楼下垃圾好几天没清运了"],
}


def test_cluster_groups_each_topic_and_keeps_topics_apart():
    texts, topic_of = [], []
    # Interleaved, as they would arrive.
    for i in range(max(len(v) for v in TOPICS.values())):
        for topic, words in TOPICS.items():
            if i < len(words):
                texts.append(words[i])
                topic_of.append(topic)
    groups = grouping.cluster(texts)
    found = [{topic_of[i] for i in g} for g in groups]
    assert all(len(topics) == 1 for topics in found), found
    assert sorted(t.pop() for t in found) == sorted(TOPICS)


def test_the_typical_wording_is_a_central_member():
    assert grouping.typical(TOPICS["haircut"]) in TOPICS["haircut"][2:]


def _households(building, n):
    return [places.household_create(actor=None, building=building, unit="2", room=f"{100 + i}") for i in range(n)]


def test_submitting_groups_incrementally_and_the_reply_reaches_every_supporter(building, head, client, make_user):
    texts = [t for words in TOPICS.values() for t in words]
    households = _households(building, len(texts))
    # Round-robin over the topics so each arrives among the others.
    order = sorted(range(len(texts)), key=lambda i: (i % 3, i))
    for i in order:
        services.suggestion_submit(actor="household-link:x", household=households[i], text=texts[i])
    groups = list(SuggestionGroup.objects.all())
    assert len(groups) == len(TOPICS)
    by_text = {s.text: s.group_id for s in Suggestion.objects.all()}
    for words in TOPICS.values():
        assert len({by_text[w] for w in words}) == 1
    haircut = SuggestionGroup.objects.get(pk=by_text["理发"])
    assert haircut.summary in TOPICS["haircut"]
    services.group_reply(actor=head, group=haircut, text="周六上午理发师到2号楼下")
    with pytest.raises(services.TransitionError):
        services.group_reply(actor=head, group=haircut, text="again")
    from jiayuan.accounts import services as accounts

    supporters = [households[texts.index(w)] for w in TOPICS["haircut"]]
    for h in supporters:
        token = accounts.household_link_token(accounts.household_link_issue(actor=head, household=h))
        page = client.get(f"/h/{token}/care/").content.decode()
        assert "周六上午理发师到2号楼下" in page
        assert "周六上午理发师到2号楼下" in client.get(f"/h/{token}/").content.decode()
    other = households[texts.index("快递什么时候能进小区")]
    token = accounts.household_link_token(accounts.household_link_issue(actor=head, household=other))
    assert "理发师到2号楼下" not in client.get(f"/h/{token}/care/").content.decode()
    assert AuditEvent.objects.filter(action="care.suggestion_reply", object_id=str(haircut.pk)).exists()
    # A new haircut suggestion after the reply starts a new group (the answered one is closed).
    late = services.suggestion_submit(actor="x", household=households[0], text="想理发")
    assert late.group_id != haircut.pk


def test_merge_makes_one_common_issue(building, head):
    h1, h2 = _households(building, 2)
    a = services.suggestion_submit(actor="x", household=h1, text="电梯坏了")
    b = services.suggestion_submit(actor="x", household=h2, text="楼道灯不亮")
    assert a.group_id != b.group_id
    group = services.group_merge(actor=head, group=a.group, others=[b.group], title="楼道设施维修")
    assert group.title == "楼道设施维修" and group.merged_at is not None
    assert set(group.suggestions.values_list("pk", flat=True)) == {a.pk, b.pk}
    assert not SuggestionGroup.objects.filter(pk=b.group_id).exists()


def test_api_submit_by_link_and_staff_list_and_reply(
    client, household, household2, head, bearer, link_token, make_user
):
    token = link_token(household)
    r = client.post(
        "/api/v1/suggestions",
        {"household_token": token, "text": "头发太长了想理发", "idempotency_key": "s1"},
        content_type="application/json",
    )
    assert r.status_code == 201
    first = r.json()["id"]
    again = client.post(
        "/api/v1/suggestions",
        {"household_token": token, "text": "头发太长了想理发", "idempotency_key": "s1"},
        content_type="application/json",
    )
    assert again.status_code == 201 and again.json()["id"] == first
    r = client.post(
        "/api/v1/suggestions",
        {"household": household2.pk, "text": "理发"},
        content_type="application/json",
        **bearer(head),
    )
    assert r.status_code == 201
    r = client.get("/api/v1/suggestion-groups", **bearer(head))
    assert r.status_code == 200
    (group,) = r.json()["items"]
    assert group["size"] == 2 and set(group["suggestions"]) == {first, r.json()["items"][0]["suggestions"][1]}
    assert group["summary"]
    r = client.post(
        f"/api/v1/suggestion-groups/{group['id']}/reply",
        {"text": "安排理发"},
        content_type="application/json",
        **bearer(head),
    )
    assert r.status_code == 200 and r.json()["reply"] == "安排理发"
    r = client.post(
        f"/api/v1/suggestion-groups/{group['id']}/reply", {"text": "x"}, content_type="application/json", **bearer(head)
    )
    assert r.status_code == 409 and r.json()["code"] == "already_replied"
    # A building leader manages no suggestions: the group is out of scope.
    from jiayuan.core.permissions import Role

    leader = make_user(Role.BUILDING_LEADER, household.building)
    assert client.get("/api/v1/suggestion-groups", **bearer(leader)).json()["count"] == 0
    r = client.post(
        f"/api/v1/suggestion-groups/{group['id']}/reply",
        {"text": "x"},
        content_type="application/json",
        **bearer(leader),
    )
    assert r.status_code == 404
    bad = client.post(
        "/api/v1/suggestions", {"household_token": "forged", "text": "x"}, content_type="application/json"
    )
    assert bad.status_code == 401
