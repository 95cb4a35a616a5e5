"""Audit reports: ranked drivers, prioritised actions, worst-first evidence, deterministic markdown."""

from __future__ import annotations

from phoneline.policy import HealthPolicy
from phoneline.reputation.report import MAX_UNHEALTHY_CHATS, ChatEvidence, build_report
from phoneline.reputation.scoring import ChatSignals, LineSignals, score_chat, score_line

POLICY = HealthPolicy()


def chat(chat_id: str, after_stop: int = 0, **signals: int | bool) -> ChatEvidence:
    verdict = score_chat(ChatSignals(sends_after_stop=after_stop, **signals), POLICY)  # type: ignore[arg-type]
    return ChatEvidence(chat_id=chat_id, verdict=verdict, messages_after_stop=after_stop)


def test_report_fields_and_ordering() -> None:
    verdict = score_line(
        LineSignals(outbound_window=400, inbound_window=8, active_chats=20, unhealthy_chats=12, sends_after_stop=1,
                    new_conversations_today=90),
        POLICY,
    )  # fmt: skip
    chats = [chat(f"c{i:02}", outbound=4, unanswered_streak=3) for i in range(20)]
    chats += [
        chat("worst", outbound=9, unanswered_streak=9, failed=3),
        chat("stopped", after_stop=2, opted_out=True),
    ]
    chats += [chat("fine", outbound=2, inbound=2)]

    report = build_report("+12025550101", verdict, chats)

    assert report.severity == "CRITICAL"
    assert report.primary_driver == "overall_conversation_health"
    assert [d.key for d in report.drivers][:2] == [
        "overall_conversation_health",
        "overall_conversation_health",
    ]
    assert {d.key for d in report.drivers} == {
        "overall_conversation_health",
        "opt_out_handling",
        "new_conversation_rate",
    }
    assert [a.priority for a in report.action_items] == [1, 2, 3]
    assert report.action_items[0].title == "Fix the unhealthy conversations first"
    unhealthy = report.evidence.unhealthy_chats
    assert len(unhealthy) == MAX_UNHEALTHY_CHATS
    assert [c.chat_id for c in unhealthy[:2]] == ["worst", "stopped"]
    assert unhealthy[0].status == "CRITICAL"
    assert set(unhealthy[0].driver_keys) == {"low_engagement", "other"}
    assert "fine" not in {c.chat_id for c in unhealthy}
    assert [(c.chat_id, c.messages_after_stop) for c in report.evidence.opt_out_chats] == [("stopped", 2)]


def test_summary_markdown_is_identical_for_identical_input() -> None:
    def make() -> str:
        verdict = score_line(LineSignals(outbound_window=100, inbound_window=10), POLICY)
        return build_report(
            "+12025550101", verdict, [chat("a", outbound=5, unanswered_streak=5)]
        ).summary_markdown

    first, second = make(), make()
    assert first == second
    assert first.startswith("# Reputation report for +12025550101\n")
    assert "**Severity:** AT_RISK" in first and "- a: CRITICAL (low_engagement)" in first


def test_healthy_line_gets_one_reassurance_item() -> None:
    report = build_report("+12025550101", score_line(LineSignals(), POLICY), [])
    assert report.severity == "HEALTHY" and report.primary_driver == "" and report.drivers == []
    assert len(report.action_items) == 1 and report.action_items[0].priority == 1
