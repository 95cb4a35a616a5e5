"""`phoneline sim`: drive the transport by hand."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.cli.common import (
    JsonOption,
    command,
    output,
    public_base_url,
    run_in_session,
)
from phoneline.lines.numbers import to_e164
from phoneline.settings import Settings

app = typer.Typer(
    help="Drive the transport by hand: inbound messages, simulator personas.", no_args_is_help=True
)


@app.command("inbound")
@command
def sim_inbound(
    line: str = typer.Option(..., "--line", help="The line (E.164) the message arrives on."),
    sender: str = typer.Option(..., "--from", help="The sender's handle (E.164 or email)."),
    text: str = typer.Option(..., "--text", help="The message text."),
    chat: str | None = typer.Option(None, "--chat", help="A group chat's id (default: the one-to-one chat)."),
    as_json: bool = JsonOption,
) -> None:
    """Hand in an inbound message, as the transport's inbound path does (opt-out rules included)."""
    from phoneline.chats import carrier as chats
    from phoneline.clock import SystemClock
    from phoneline.transport.base import InboundMessage

    base_url = public_base_url()

    async def work(session: AsyncSession) -> Any:
        message = await chats.receive_inbound(
            session, SystemClock(), base_url, InboundMessage.text(line, sender, text, chat_id=chat)
        )
        # A blocked sender's message is dropped: nothing stored, so it has no chat.
        dropped = message.chat_id is None
        return {
            "message_id": None if dropped else str(message.id),
            "chat_id": None if dropped else str(message.chat_id),
            "dropped": dropped,
            "from": message.sender_handle,
            "line": to_e164(line),
            "text": text,
        }

    output(
        run_in_session(work),
        as_json,
        lambda d: (
            f"dropped: {d['from']} is blocked"
            if d["dropped"]
            else f"message {d['message_id']} from {d['from']} in chat {d['chat_id']}"
        ),
    )


@app.command("persona")
@command
def sim_persona(handle: str, as_json: bool = JsonOption) -> None:
    """Show how the simulator's recipient HANDLE behaves under PHONELINE_SIMULATOR_SEED."""
    from phoneline.chats.handles import normalize_handle
    from phoneline.transport.simulator import persona_for, plan

    settings = Settings()
    normalized = normalize_handle(handle, lenient=True)
    doc = {
        "handle": normalized,
        "seed": settings.simulator_seed,
        "speed": settings.simulator_speed,
        "persona": persona_for(normalized, settings.simulator_seed).value,
        "first_message": [
            {"after_s": step.after_s / settings.simulator_speed, "action": step.action, "text": step.text}
            for step in plan(normalized, settings.simulator_seed, 0)
        ],
    }
    output(doc, as_json)


@app.command("typing")
@command
def sim_typing(
    line: str = typer.Option(..., "--line", help="The line (E.164) whose chat it is."),
    sender: str = typer.Option(..., "--from", help="Who is typing (E.164 or email)."),
    stopped: bool = typer.Option(False, "--stopped", help="They stopped typing (default: they started)."),
    chat: str | None = typer.Option(None, "--chat", help="A group chat's id (default: the one-to-one chat)."),
    as_json: bool = JsonOption,
) -> None:
    """Report another participant typing, as a transport does (chat.typing_indicator.started/stopped)."""
    from phoneline.chats import carrier as chats
    from phoneline.transport.base import TypingReport

    async def work(session: AsyncSession) -> Any:
        report = TypingReport(line, sender, started=not stopped, chat_id=chat)
        emitted = await chats.receive_typing(session, report)
        return {"line": to_e164(line), "from": sender, "typing": not stopped, "dropped": not emitted}

    output(
        run_in_session(work),
        as_json,
        lambda d: "dropped: the sender is blocked" if d["dropped"] else "reported",
    )


@app.command("contact-card")
@command
def sim_contact_card(
    line: str = typer.Option(..., "--line", help="The line (E.164) the card is shared with."),
    sender: str = typer.Option(..., "--from", help="Who shares their card (E.164 or email)."),
    first_name: str = typer.Option(..., "--first-name"),
    last_name: str = typer.Option("", "--last-name"),
    media_url: str | None = typer.Option(None, "--media-url", help="Their photo's URL."),
    as_json: bool = JsonOption,
) -> None:
    """Report someone sharing their contact card with a line, as a transport does (contact_card.received)."""
    from phoneline.chats import carrier as chats
    from phoneline.transport.base import SharedContactCard

    async def work(session: AsyncSession) -> Any:
        card = SharedContactCard(line, sender, first_name, last_name, media_url)
        emitted = await chats.receive_contact_card(session, card)
        return {"line": to_e164(line), "from": sender, "dropped": not emitted}

    output(
        run_in_session(work),
        as_json,
        lambda d: "dropped: the sender is blocked" if d["dropped"] else "reported",
    )


@app.command("reaction")
@command
def sim_reaction(
    line: str = typer.Option(..., "--line", help="The line (E.164) whose chat holds the message."),
    sender: str = typer.Option(..., "--from", help="Who reacts (E.164 or email), a participant of the chat."),
    message: str = typer.Option(..., "--message", help="The message's id."),
    kind: str = typer.Option(
        "like", "--type", help="love, like, dislike, laugh, emphasize, question, custom."
    ),
    part: int = typer.Option(0, "--part", help="The part reacted to."),
    emoji: str = typer.Option("", "--emoji", help="The emoji of a `custom` reaction."),
    remove: bool = typer.Option(False, "--remove", help="Take the reaction back."),
    as_json: bool = JsonOption,
) -> None:
    """Report another participant's reaction, as a transport does (reaction.added / reaction.removed)."""
    from phoneline.chats import carrier as chats
    from phoneline.clock import SystemClock
    from phoneline.transport.base import ReactionReport

    async def work(session: AsyncSession) -> Any:
        report = ReactionReport(
            line, sender, message, kind, added=not remove, part_index=part, custom_emoji=emoji
        )
        emitted = await chats.receive_reaction(session, SystemClock(), report)
        return {"line": to_e164(line), "from": sender, "message_id": message, "dropped": not emitted}

    output(
        run_in_session(work),
        as_json,
        lambda d: "dropped: the sender is blocked" if d["dropped"] else "reported",
    )
