"""Hand-over to the transport survives the process: a message committed by a server that stopped before
its transport took it is handed over by the next server's recovery pass, once."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from linq import LinqAPIV3
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from phoneline.settings import Settings
from tests.chats.conftest import text
from tests.conftest import Cli, LiveServer, PartnerAccount, free_port, stop_live_server, wait_until
from tests.transport.conftest import SECRET, Gateway

LINE = "+12025550101"


def metric(live: LiveServer, name: str) -> float:
    """A sample of the server's /metrics (counters are per Python process: only recovery servers count)."""
    body = httpx.get(f"{live.url}/metrics").text
    samples = {s.name: s.value for family in text_string_to_metric_families(body) for s in family.samples}
    return samples.get(name, 0.0)


def linq_client(live: LiveServer, api_key: str) -> LinqAPIV3:
    return LinqAPIV3(api_key=api_key, base_url=live.api_url, max_retries=0)


def received_ids(gateway: type[Gateway]) -> Counter[str]:
    return Counter(json.loads(call["body"])["data"]["id"] for call in gateway.received)


@pytest.fixture
def strand(
    serve: Callable[..., LiveServer], make_partner: Callable[[str], PartnerAccount], cli: Cli
) -> Callable[[int], tuple[str, list[str]]]:
    """Send `count` messages through a server whose gateway never answers, then stop that server: the
    messages are committed (the API said so) but no transport ever took them. Returns the partner's API
    key and the message ids."""

    def run(count: int) -> tuple[str, list[str]]:
        nowhere = f"http://127.0.0.1:{free_port()}/outbound"
        doomed = serve(transport="http_bridge", bridge_url=nowhere, bridge_secret=SecretStr(SECRET))
        # The first try is refused at once; the retry waits past the end of the test.
        doomed.app.state.sending.transport.retry_delays_s = (3600.0,)
        partner = make_partner("Acme")
        cli("lines", "assign", LINE, "--partner", partner.id)
        client = linq_client(doomed, partner.api_key)
        ids = [
            client.chats.create(
                from_=LINE, to=[f"+1202555{1000 + n}"], message=text(f"Hi {n}")
            ).chat.message.id
            for n in range(count)
        ]
        stop_live_server(doomed)
        return partner.api_key, ids

    return run


def recovering(serve: Callable[..., LiveServer], gateway: type[Gateway], **overrides: Any) -> LiveServer:
    """A server on the gateway whose recovery pass runs at once and then every 50 ms."""
    settings: dict[str, Any] = {
        "transport": "http_bridge",
        "bridge_url": gateway.url,
        "bridge_secret": SecretStr(SECRET),
        "transport_recovery_enabled": True,
        "transport_recovery_interval_s": 0.05,
        "transport_recovery_after_s": 0.0,
    }
    return serve(**{**settings, **overrides})


def two_more_passes(live: LiveServer) -> None:
    passes = metric(live, "phoneline_transport_recovery_passes_total")
    wait_until(lambda: metric(live, "phoneline_transport_recovery_passes_total") >= passes + 2)


def test_a_message_stranded_by_a_stopped_server_is_handed_over_once(serve, strand, gateway):
    api_key, (stranded,) = strand(1)
    resubmitted = metric(serve(), "phoneline_transport_resubmitted_total")
    assert gateway.received == []

    live = recovering(serve, gateway)
    wait_until(lambda: gateway.received)
    # Stamped handed over: nothing is overdue any more, and later passes leave it alone.
    wait_until(lambda: metric(live, "phoneline_transport_handover_overdue") == 0)
    two_more_passes(live)
    assert received_ids(gateway) == {stranded: 1}
    assert metric(live, "phoneline_transport_resubmitted_total") == resubmitted + 1

    # A message sent through the recovering server itself is handed over once too, not again by recovery.
    client = linq_client(live, api_key)
    chat = client.chats.create(from_=LINE, to=["+12025559999"], message=text("Fresh")).chat
    wait_until(lambda: chat.message.id in received_ids(gateway))
    wait_until(lambda: metric(live, "phoneline_transport_handover_overdue") == 0)
    two_more_passes(live)
    assert received_ids(gateway) == {stranded: 1, chat.message.id: 1}


def test_a_stranded_message_the_gateway_refuses_is_failed(serve, strand, gateway, events):
    api_key, (stranded,) = strand(1)
    gateway.status = 422
    # A claim lasts transport_recovery_after_s. At 0 s a pass could claim the message again while the
    # refusal's failure report still waits in its batch (20 ms); one second is far longer than that,
    # as the 30 s default is in service.
    live = recovering(serve, gateway, transport_recovery_after_s=1.0)
    client = linq_client(live, api_key)
    wait_until(lambda: client.messages.retrieve(stranded).delivery_status == "failed")
    (failed,) = events("message.failed")
    assert (failed["data"]["message_id"], failed["data"]["code"]) == (stranded, 3007)
    two_more_passes(live)
    assert received_ids(gateway) == {stranded: 1}


def test_concurrent_recovery_passes_in_two_servers_hand_each_message_over_once(
    serve, strand, gateway, settings: Settings
):
    _api_key, stranded = strand(40)
    servers: list[LiveServer] = []

    def start() -> None:
        # A message one server claimed is not claimable by the other for transport_recovery_after_s:
        # three seconds, far longer than a hand-over and its stamp take even with the suite's other
        # process loading the machine (one second was not, once: a batch stamped 1.1 s after its claim).
        servers.append(recovering(serve, gateway, transport_recovery_after_s=3.0))

    starters = [threading.Thread(target=start) for _ in range(2)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    wait_until(lambda: set(received_ids(gateway)) == set(stranded))
    for live in servers:
        wait_until(lambda live=live: metric(live, "phoneline_transport_handover_overdue") == 0)
    # Both servers keep polling (each pass here counts in the shared process-wide counter).
    two_more_passes(servers[0])
    two_more_passes(servers[0])
    assert received_ids(gateway) == dict.fromkeys(stranded, 1)
