"""CLI: `freev2g exi decode` / `freev2g exi encode` (built-in module, `add_commands(cli)`).

    freev2g exi decode --protocol din 809A0203AF96...        (hex, spaces/colons allowed)
    freev2g exi decode --protocol iso2 capture.exi            (binary or hex text file)
    freev2g exi encode --protocol din message.json            (JSON form; '-' = stdin)
A V2GTP header (01 FE, payload type, length) in front of the EXI bytes is removed.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from . import ExiError, decode, encode, from_json, to_json
from .schemas import PROTOCOLS

_PROTO = click.Choice(list(PROTOCOLS))
_HEX_JUNK = re.compile(r"(0x|[\s:,_-])", re.IGNORECASE)


def _parse_hex(text: str, what: str) -> bytes:
    cleaned = _HEX_JUNK.sub("", text)
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise click.BadParameter(f"{what} is neither a readable file nor hex digits") from None


def _input_bytes(arg: str) -> bytes:
    path = Path(arg)
    if arg != "-" and not path.is_file():
        return _parse_hex(arg, repr(arg[:40]))
    raw = sys.stdin.buffer.read() if arg == "-" else path.read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return raw
    if raw[:1] == b"\x80" or not text.strip():
        return raw
    return _parse_hex(text, f"file {arg}")


def _strip_v2gtp(data: bytes) -> bytes:
    if len(data) >= 8 and data[0] == 0x01 and data[1] == 0xFE:
        length = int.from_bytes(data[4:8], "big")
        if length == len(data) - 8:
            return data[8:]
    return data


def add_commands(cli: click.Group) -> None:
    cli.add_command(exi_group)


@click.group("exi")
def exi_group() -> None:
    """Encode and decode V2G EXI messages (SAP, DIN 70121, ISO 15118-2, ISO 15118-20)."""


@exi_group.command("decode")
@click.option("--protocol", "-p", type=_PROTO, required=True, help="Schema set of the message.")
@click.option("--compact", is_flag=True, help="One-line JSON.")
@click.argument("data")
def decode_command(protocol: str, compact: bool, data: str) -> None:
    """Decode HEX_OR_FILE (hex string, hex text file or binary file; '-' = stdin) to JSON."""
    raw = _strip_v2gtp(_input_bytes(data))
    try:
        msg = decode(protocol, raw, any_root=True)
    except ExiError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(to_json(protocol, msg), indent=None if compact else 2, ensure_ascii=False))


@exi_group.command("encode")
@click.option("--protocol", "-p", type=_PROTO, required=True, help="Schema set of the message.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the EXI bytes to this file instead of printing hex.")
@click.argument("json_file")
def encode_command(protocol: str, output: Path | None, json_file: str) -> None:
    """Encode JSON_FILE (the JSON form, keys = XSD element names; '-' = stdin) to EXI."""
    try:
        text = sys.stdin.read() if json_file == "-" else Path(json_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read {json_file}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{json_file}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    try:
        data = encode(protocol, from_json(protocol, doc), any_root=True)
    except ExiError as exc:
        raise click.ClickException(str(exc)) from None
    if output is not None:
        output.write_bytes(data)
        click.echo(f"wrote {len(data)} bytes to {output}")
    else:
        click.echo(data.hex().upper())
