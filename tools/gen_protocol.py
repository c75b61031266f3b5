#!/usr/bin/env python3
"""Generate rdpy/protocol/messages/*.py from Apache Kafka's JSON message specs.

Usage:
    python tools/gen_protocol.py [--specs DIR] [--out DIR] [--check]

The specs (``*.json`` with ``//`` comments) default to ``<repo>/../shared/kafka-protocol/messages``.
One module is written per API (request + response and their nested structs), one per data type
(ConsumerProtocolSubscription/Assignment) and one per header, plus ``__init__.py`` with a registry.

Per struct and per *distinct wire layout* (versions whose encoding is identical share one
function) the generator emits straight-line encode/decode functions; runs of fixed-width fields
are packed/unpacked with one precompiled ``struct.Struct``. ``--check`` regenerates in memory and
exits 1 listing the files that differ. The output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INF = 0x7FFF
REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = REPO.parent / "shared" / "kafka-protocol" / "messages"
DEFAULT_OUT = REPO / "rdpy" / "protocol" / "messages"

DATA_TYPES = ("ConsumerProtocolSubscription", "ConsumerProtocolAssignment")
HEADER_TYPES = ("RequestHeader", "ResponseHeader")

FIXED = {  # type -> (struct code, size)
    "int8": ("b", 1),
    "int16": ("h", 2),
    "int32": ("i", 4),
    "int64": ("q", 8),
    "uint16": ("H", 2),
    "uint32": ("I", 4),
    "float64": ("d", 8),
    "bool": ("?", 1),
}
PY_TYPES = {
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "int",
    "uint16": "int",
    "uint32": "int",
    "float64": "float",
    "bool": "bool",
    "string": "str",
    "bytes": "bytes",
    "records": "Buffer",
    "uuid": "uuid.UUID",
}
RESERVED = {"unknown_tagged_fields", "encode", "decode", "read", "encode_into", "is_flexible"}


# ------------------------------------------------------------------------------------------
# Spec model
# ------------------------------------------------------------------------------------------


def parse_range(s: str | None) -> tuple[int, int] | None:
    if s is None or s == "none":
        return None
    s = s.strip()
    if s.endswith("+"):
        return (int(s[:-1]), INF)
    if "-" in s:
        a, b = s.split("-")
        return (int(a), int(b))
    return (int(s), int(s))


def in_range(r: tuple[int, int] | None, v: int) -> bool:
    return r is not None and r[0] <= v <= r[1]


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    return s


def load_json(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    # Strip // comments (the specs never put "//" inside strings, but be careful anyway).
    lines = []
    for line in text.splitlines():
        out = []
        in_str = False
        i = 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            if not in_str and line.startswith("//", i):
                break
            out.append(c)
            i += 1
        lines.append("".join(out))
    return json.loads("\n".join(lines))


@dataclass
class FieldDef:
    json_name: str
    py: str
    type: str  # element type for arrays; struct name for structs
    array: bool
    versions: tuple[int, int]
    nullable: tuple[int, int] | None
    tagged: tuple[int, int] | None
    tag: int | None
    ignorable: bool
    default: Any
    flex: tuple[int, int] | None | str  # "inherit" or an override range
    about: str
    struct: StructDef | None = None

    @property
    def is_struct(self) -> bool:
        return self.struct is not None

    def present(self, v: int) -> bool:
        return in_range(self.versions, v)

    def tagged_at(self, v: int) -> bool:
        return in_range(self.tagged, v)

    def nullable_at(self, v: int) -> bool:
        return in_range(self.nullable, v)

    def default_is_null(self) -> bool:
        return isinstance(self.default, str) and self.default == "null"


@dataclass
class StructDef:
    json_name: str
    cls: str
    fields: list[FieldDef]
    about: str = ""
    used: set[int] = field(default_factory=set)
    is_message: bool = False


@dataclass
class MessageDef:
    spec: Any
    name: str
    kind: str  # request/response/data/header
    api_key: int
    valid: tuple[int, int]
    flexible: tuple[int, int] | None
    root: StructDef
    structs: list[StructDef]  # nested, in definition order (root excluded)

    def flexible_at(self, v: int) -> bool:
        return in_range(self.flexible, v)


def build_message(spec: Any) -> MessageDef:
    name = spec["name"]
    valid = parse_range(spec["validVersions"])
    assert valid is not None
    structs: dict[str, StructDef] = {}
    order: list[StructDef] = []
    pending_refs: list[FieldDef] = []

    def make_fields(jfields: list[Any]) -> list[FieldDef]:
        out = []
        for jf in jfields:
            t = jf["type"]
            array = t.startswith("[]")
            elem = t[2:] if array else t
            versions = parse_range(jf["versions"])
            assert versions is not None, (name, jf["name"])
            fd = FieldDef(
                json_name=jf["name"],
                py=snake(jf["name"]),
                type=elem,
                array=array,
                versions=versions,
                nullable=parse_range(jf.get("nullableVersions")),
                tagged=parse_range(jf.get("taggedVersions")),
                tag=jf.get("tag"),
                ignorable=bool(jf.get("ignorable", False)),
                default=jf.get("default"),
                flex=parse_range(jf["flexibleVersions"]) if "flexibleVersions" in jf else "inherit",
                about=jf.get("about", ""),
            )
            if "fields" in jf:
                sd = StructDef(elem, elem, make_fields(jf["fields"]), jf.get("about", ""))
                assert elem not in structs, (name, elem)
                structs[elem] = sd
                order.append(sd)
                fd.struct = sd
            elif elem not in PY_TYPES and elem not in FIXED:
                pending_refs.append(fd)
            out.append(fd)
        names = [f.py for f in out]
        assert len(set(names)) == len(names), (name, names)
        return out

    root = StructDef(name, name, make_fields(spec.get("fields", [])), is_message=True)
    for cs in spec.get("commonStructs", []):
        sd = StructDef(cs["name"], cs["name"], make_fields(cs["fields"]))
        assert cs["name"] not in structs
        structs[cs["name"]] = sd
        order.append(sd)
    for fd in pending_refs:
        fd.struct = structs[fd.type]

    kind = spec["type"]
    msg = MessageDef(
        spec=spec,
        name=name,
        kind=kind,
        api_key=spec.get("apiKey", -1),
        valid=valid,
        flexible=parse_range(spec.get("flexibleVersions")),
        root=root,
        structs=order,
    )

    def mark(sd: StructDef, versions: list[int]) -> None:
        sd.used.update(versions)
        for f in sd.fields:
            if f.struct is not None:
                sub = [v for v in versions if f.present(v)]
                if sub:
                    mark(f.struct, sub)

    mark(root, list(range(valid[0], valid[1] + 1)))
    return msg


# ------------------------------------------------------------------------------------------
# Code generation
# ------------------------------------------------------------------------------------------


class ModuleGen:
    def __init__(self, msgs: list[MessageDef], module: str, sources: list[str]) -> None:
        self.msgs = msgs
        self.module = module
        self.sources = sources
        self.structs_fmt: dict[str, str] = {}  # struct format -> constant name
        self.lines: list[str] = []
        self.uses_uuid = False
        # per struct: version -> layout id (smallest version with that layout)
        self.layout: dict[int, dict[int, int]] = {}
        self.sigs: dict[int, dict[int, Any]] = {}
        self.all_structs: list[tuple[MessageDef, StructDef]] = []
        seen_cls: dict[str, int] = {}
        for m in msgs:
            for sd in [m.root] + m.structs:
                self.all_structs.append((m, sd))
                seen_cls[sd.json_name] = seen_cls.get(sd.json_name, 0) + 1
        for m in msgs:
            for sd in m.structs:
                if seen_cls[sd.json_name] > 1:
                    sd.cls = m.name + sd.json_name
        names = [sd.cls for _, sd in self.all_structs]
        assert len(names) == len(set(names)), names

    # -- layouts -------------------------------------------------------------------------
    def compact(self, m: MessageDef, f: FieldDef, v: int) -> bool:
        if not m.flexible_at(v):
            return False
        if f.flex == "inherit":
            return True
        return in_range(f.flex, v)  # type: ignore[arg-type]

    def sig(self, m: MessageDef, sd: StructDef, v: int) -> Any:
        cache = self.sigs.setdefault(id(sd), {})
        if v in cache:
            return cache[v]
        parts: list[Any] = [m.flexible_at(v)]
        for f in sd.fields:
            if not f.present(v):
                parts.append(("absent",))
                continue
            sub = self.sig(m, f.struct, v) if f.struct is not None else None
            parts.append(
                (
                    "tagged" if f.tagged_at(v) else "regular",
                    f.nullable_at(v),
                    self.compact(m, f, v),
                    sub,
                )
            )
        s = tuple(parts)
        cache[v] = s
        return s

    def layouts(self, m: MessageDef, sd: StructDef) -> dict[int, int]:
        if id(sd) in self.layout:
            return self.layout[id(sd)]
        first: dict[Any, int] = {}
        res: dict[int, int] = {}
        for v in sorted(sd.used):
            s = self.sig(m, sd, v)
            if s not in first:
                first[s] = v
            res[v] = first[s]
        self.layout[id(sd)] = res
        return res

    def fn(self, kind: str, sd: StructDef, v: int, m: MessageDef) -> str:
        return f"_{kind}_{sd.cls}_{self.layouts(m, sd)[v]}"

    def fmt_const(self, fmt: str) -> str:
        if fmt not in self.structs_fmt:
            self.structs_fmt[fmt] = "_S_" + fmt.lstrip(">").replace("?", "o")
        return self.structs_fmt[fmt]

    # -- defaults and types ----------------------------------------------------------------
    def default_expr(self, f: FieldDef) -> str:
        d = f.default
        if f.array:
            return "None" if f.default_is_null() else "[]"
        if f.struct is not None:
            return "None" if f.default_is_null() else f"{f.struct.cls}()"
        t = f.type
        if t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
            if d is None or d == "":
                return "0"
            return str(int(str(d), 0))
        if t == "float64":
            return repr(float(d)) if d not in (None, "") else "0.0"
        if t == "bool":
            return "True" if str(d).lower() == "true" else "False"
        if t == "string":
            if f.default_is_null():
                return "None"
            return repr(d if d is not None else "")
        if t == "bytes":
            return "None" if f.default_is_null() else 'b""'
        if t == "records":
            return "None"
        if t == "uuid":
            self.uses_uuid = True
            return "ZERO_UUID"
        raise AssertionError(t)

    def can_be_null(self, f: FieldDef) -> bool:
        return f.nullable is not None or f.default_is_null() or f.type == "records"

    def py_type(self, f: FieldDef) -> str:
        if f.struct is not None:
            base = f.struct.cls
        else:
            base = PY_TYPES[f.type]
            if f.type == "uuid":
                self.uses_uuid = True
        if f.array:
            base = f"list[{base}]"
        if self.can_be_null(f) and f.type != "records":
            base += " | None"
        elif f.type == "records":
            base = "Buffer | None" if not f.array else base + " | None"
        return base

    def mutable_default(self, f: FieldDef) -> bool:
        return (f.array and not f.default_is_null()) or (
            f.struct is not None and not f.array and not f.default_is_null()
        )

    # -- encode expressions -----------------------------------------------------------------
    def enc_value(self, m: MessageDef, f: FieldDef, v: int, val: str, out: str) -> list[str]:
        """Statements appending the encoding of ``val`` (field ``f`` at version ``v``)."""
        compact = self.compact(m, f, v)
        nullable = f.nullable_at(v)
        if f.array:
            ln = ("w_cnarray_len" if nullable else "w_carray_len") if compact else (
                "w_narray_len" if nullable else "w_array_len"
            )
            body: list[str] = [f"{ln}({out}, {val})"]
            if f.struct is not None:
                elem = f"write_structs({out}, {val}, {self.fn('e', f.struct, v, m)})"
            elif f.type in FIXED:
                elem = f"w_prim_array({out}, {FIXED[f.type][0]!r}, {val})"
            else:
                inner = self.enc_scalar(m, f, v, "_y", out, compact, False)
                assert len(inner) == 1
                it = f"({val} or ())" if self.can_be_null(f) and not nullable else val
                elem = f"for _y in {it}:\n    {inner[0]}"
            if nullable:
                body.append(f"if {val} is not None:")
                body.extend("    " + x for x in elem.split("\n"))
            else:
                body.extend(elem.split("\n"))
            return body
        return self.enc_scalar(m, f, v, val, out, compact, nullable)

    def enc_scalar(
        self, m: MessageDef, f: FieldDef, v: int, val: str, out: str, compact: bool, nullable: bool
    ) -> list[str]:
        t = f.type
        if f.struct is not None:
            call = f"{self.fn('e', f.struct, v, m)}({val}, {out})"
            if nullable:
                return [f"if {val} is None: {out}.append(255)", f"else: {out}.append(1); {call}"]
            return [call]
        if t in FIXED:
            return [f"{out} += {self.fmt_const('>' + FIXED[t][0])}.pack({val})"]
        if t == "string":
            fn = ("w_cnstring" if nullable else "w_cstring") if compact else (
                "w_nstring" if nullable else "w_string"
            )
            return [f"{fn}({out}, {val})"]
        if t in ("bytes", "records"):
            if t == "records":
                nullable = True
            fn = ("w_cnbytes" if nullable else "w_cbytes") if compact else (
                "w_nbytes" if nullable else "w_bytes"
            )
            return [f"{fn}({out}, {val})"]
        if t == "uuid":
            return [f"{out} += {val}.bytes"]
        raise AssertionError(t)

    # -- decode expressions -----------------------------------------------------------------
    def dec_value(self, m: MessageDef, f: FieldDef, v: int, target: str) -> list[str]:
        compact = self.compact(m, f, v)
        nullable = f.nullable_at(v)
        if f.array:
            if compact:
                ln = "r.cnarray_len()" if nullable else "r.carray_len()"
            else:
                ln = "r.narray_len()" if nullable else "r.array_len()"
            lines = [f"_n = {ln}"]
            if f.struct is not None:
                elem = f"read_structs(r, {self.fn('d', f.struct, v, m)}, _n)"
            elif f.type in FIXED:
                code, size = FIXED[f.type]
                elem = f"r.prim_array({code!r}, {size}, _n)"
            else:
                elem = f"[{self.dec_scalar(m, f, v, compact, False)} for _ in range(_n)]"
            if nullable:
                lines.append(f"{target} = None if _n < 0 else {elem}")
            else:
                lines.append(f"{target} = {elem}")
            return lines
        if f.struct is not None and nullable:
            return [f"{target} = None if r.int8() < 0 else {self.fn('d', f.struct, v, m)}(r)"]
        return [f"{target} = {self.dec_scalar(m, f, v, compact, nullable)}"]

    def dec_scalar(self, m: MessageDef, f: FieldDef, v: int, compact: bool, nullable: bool) -> str:
        t = f.type
        if f.struct is not None:
            return f"{self.fn('d', f.struct, v, m)}(r)"
        if t in FIXED:
            return f"r.fixed({self.fmt_const('>' + FIXED[t][0])})[0]"
        if t == "string":
            return ("r.cnstring()" if nullable else "r.cstring()") if compact else (
                "r.nstring()" if nullable else "r.string()"
            )
        if t == "bytes":
            return ("r.cnbytes()" if nullable else "r.cbytes()") if compact else (
                "r.nbytes()" if nullable else "r.bytes_()"
            )
        if t == "records":
            return "r.crecords()" if compact else "r.records()"
        if t == "uuid":
            return "r.uuid()"
        raise AssertionError(t)

    # -- functions --------------------------------------------------------------------------
    def gen_encoder(self, m: MessageDef, sd: StructDef, v: int) -> list[str]:
        name = self.fn("e", sd, v, m)
        L = [f"def {name}(o: {sd.cls}, out: bytearray) -> None:", "    _f = ''", "    try:"]
        body: list[str] = []
        flex = m.flexible_at(v)
        group: list[FieldDef] = []

        def flush() -> None:
            if not group:
                return
            fmt = ">" + "".join(FIXED[g.type][0] for g in group)
            names = ", ".join(g.py for g in group)
            body.append(f"_f = {names!r}")
            args = ", ".join(f"o.{g.py}" for g in group)
            body.append(f"out += {self.fmt_const(fmt)}.pack({args})")
            group.clear()

        tagged: list[FieldDef] = []
        for f in sd.fields:
            if not f.present(v):
                if not f.ignorable:
                    flush()
                    body.append(f"_f = {f.py!r}")
                    body.append(f"if o.{f.py} != {self.default_expr(f)}:")
                    body.append(
                        "    raise ProtocolError('attempted to write a non-default value "
                        "at this version (the field does not exist in it)')"
                    )
                continue
            if f.tagged_at(v):
                tagged.append(f)
                continue
            if f.type in FIXED and not f.array:
                group.append(f)
                continue
            flush()
            body.append(f"_f = {f.py!r}")
            body.extend(self.enc_value(m, f, v, f"o.{f.py}", "out"))
        flush()
        if flex:
            if tagged:
                body.append("_k: list[tuple[int, bytes]] = []")
                for f in sorted(tagged, key=lambda x: x.tag or 0):
                    body.append(f"_f = {f.py!r}")
                    body.append(f"if o.{f.py} != {self.default_expr(f)}:")
                    body.append("    _b = bytearray()")
                    for s in self.enc_value(m, f, v, f"o.{f.py}", "_b"):
                        body.append("    " + s)
                    body.append(f"    _k.append(({f.tag}, bytes(_b)))")
                body.append("_f = 'unknown_tagged_fields'")
                body.append("w_tags(out, _k, o.unknown_tagged_fields)")
            else:
                body.append("_f = 'unknown_tagged_fields'")
                body.append("w_no_tags(out, o.unknown_tagged_fields)")
        else:
            assert not tagged
        if not body:
            body.append("pass")
        L += ["        " + s for s in body]
        L += [
            "    except ProtocolError as e:",
            "        e.push(_f)",
            "        raise",
            "    except Exception as e:",
            "        err = wrap_error(e)",
            "        err.push(_f)",
            "        raise err from e",
        ]
        return L

    def gen_decoder(self, m: MessageDef, sd: StructDef, v: int) -> list[str]:
        name = self.fn("d", sd, v, m)
        L = [
            f"def {name}(r: Reader) -> {sd.cls}:",
            f"    o = {sd.cls}.__new__({sd.cls})",
            "    _f = ''",
            "    try:",
        ]
        body: list[str] = []
        flex = m.flexible_at(v)
        group: list[FieldDef] = []

        def flush() -> None:
            if not group:
                return
            fmt = ">" + "".join(FIXED[g.type][0] for g in group)
            names = ", ".join(g.py for g in group)
            body.append(f"_f = {names!r}")
            targets = ", ".join(f"o.{g.py}" for g in group)
            if len(group) == 1:
                targets += ","
            body.append(f"{targets} = r.fixed({self.fmt_const(fmt)})")
            group.clear()

        tagged: list[FieldDef] = []
        for f in sd.fields:
            if not f.present(v) or f.tagged_at(v):
                body.append(f"o.{f.py} = {self.default_expr(f)}")
                if f.present(v):
                    tagged.append(f)
        for f in sd.fields:
            if not f.present(v) or f.tagged_at(v):
                continue
            if f.type in FIXED and not f.array:
                group.append(f)
                continue
            flush()
            body.append(f"_f = {f.py!r}")
            body.extend(self.dec_value(m, f, v, f"o.{f.py}"))
        flush()
        if flex:
            body.append("_f = 'tagged fields'")
            if tagged:
                body.append("_u: list[tuple[int, bytes]] | None = None")
                body.append("for _ in range(r.uvarint()):")
                body.append("    _tag = r.uvarint()")
                body.append("    _sz = r.uvarint()")
                kw = "if"
                for f in sorted(tagged, key=lambda x: x.tag or 0):
                    body.append(f"    {kw} _tag == {f.tag}:")
                    body.append(f"        _f = {f.py!r}")
                    body.append("        _lim = r.push_limit(_sz)")
                    for s in self.dec_value(m, f, v, f"o.{f.py}"):
                        body.append("        " + s)
                    body.append("        r.pop_limit(_lim)")
                    kw = "elif"
                body.append("    else:")
                body.append("        if _u is None: _u = []")
                body.append("        _u.append((_tag, r.raw(_sz)))")
                body.append("o.unknown_tagged_fields = _u")
            else:
                body.append("o.unknown_tagged_fields = r.skip_tags()")
        else:
            body.append("o.unknown_tagged_fields = None")
        L += ["        " + s for s in body]
        L += ["    except ProtocolError as e:", "        e.push(_f)", "        raise", "    return o"]
        return L

    # -- classes ----------------------------------------------------------------------------
    def gen_class(self, m: MessageDef, sd: StructDef) -> list[str]:
        base = "Message" if sd.is_message else "Struct"
        L = [f"class {sd.cls}({base}):"]
        doc = [sd.about or (f"{m.name} (Kafka {m.kind})" if sd.is_message else sd.json_name)]
        if sd.is_message:
            flex = f"v{m.flexible[0]}+" if m.flexible else "none"
            doc.append("")
            doc.append(
                f"Versions {m.valid[0]}-{m.valid[1]}, flexible {flex}"
                + (f", API key {m.api_key}." if m.api_key >= 0 else ".")
            )
        if sd.fields:
            doc.append("")
            doc.append("Fields:")
            for f in sd.fields:
                vr = f"v{f.versions[0]}+" if f.versions[1] == INF else f"v{f.versions[0]}-{f.versions[1]}"
                extra = ""
                if f.tagged:
                    extra += f", tag {f.tag}"
                if f.nullable:
                    n = f.nullable
                    extra += ", nullable " + (f"v{n[0]}+" if n[1] == INF else f"v{n[0]}-{n[1]}")
                t = ("[]" if f.array else "") + f.type
                about = re.sub(r"\s+", " ", f.about).strip()
                doc.append(f"    {f.py} ({t}, {vr}{extra})" + (f": {about}" if about else ""))
        esc = [line.replace("\\", "\\\\").replace('"""', "'''") for line in doc]
        doc_text = "\n".join(("    " + line if line else "") for line in esc).lstrip()
        L.append(f'    """{doc_text}\n    """')
        L.append("")
        slots = [f.py for f in sd.fields] + ["unknown_tagged_fields"]
        L.append(f"    __slots__ = ({', '.join(repr(s) for s in slots)},)")
        L.append("")
        if sd.is_message:
            L.append(f"    NAME = {m.name!r}")
            L.append(f"    API_KEY = {m.api_key}")
            L.append(f"    MIN_VERSION = {m.valid[0]}")
            L.append(f"    MAX_VERSION = {m.valid[1]}")
            L.append(f"    FLEXIBLE_VERSIONS = {m.flexible[0] if m.flexible else None}")
            L.append("")
        for f in sd.fields:
            L.append(f"    {f.py}: {self.py_type(f)}")
        L.append("    unknown_tagged_fields: list[tuple[int, bytes]] | None")
        L.append("")
        params = ["self", "*"]
        init_body = []
        for f in sd.fields:
            t = self.py_type(f)
            if self.mutable_default(f) and f.nullable is not None:
                params.append(f"{f.py}: {t} = DEFAULT")
                init_body.append(
                    f"self.{f.py} = {self.default_expr(f)} if {f.py} is DEFAULT else {f.py}"
                )
            elif self.mutable_default(f):
                pt = t if t.endswith("| None") else t + " | None"
                params.append(f"{f.py}: {pt} = None")
                init_body.append(
                    f"self.{f.py} = {self.default_expr(f)} if {f.py} is None else {f.py}"
                )
            else:
                params.append(f"{f.py}: {t} = {self.default_expr(f)}")
                init_body.append(f"self.{f.py} = {f.py}")
        params.append("unknown_tagged_fields: list[tuple[int, bytes]] | None = None")
        init_body.append("self.unknown_tagged_fields = unknown_tagged_fields or None")
        L.append("    def __init__(")
        for p in params:
            L.append(f"        {p},")
        L.append("    ) -> None:")
        L += ["        " + s for s in init_body]
        L.append("")
        L.append("")
        return L

    def schema_entry(self, f: FieldDef) -> str:
        return (
            f"FieldSpec({f.py!r}, {('struct' if f.struct else f.type)!r}, {f.array}, {f.versions}, "
            f"{f.nullable}, {f.tagged}, {f.tag}, {f.ignorable}, "
            f"{f.struct.cls if f.struct else None})"
        )

    # -- module -----------------------------------------------------------------------------
    def generate(self) -> str:
        classes: list[str] = []
        funcs: list[str] = []
        tables: list[str] = []
        for m, sd in self.all_structs:
            classes += self.gen_class(m, sd)
        for m, sd in self.all_structs:
            lay = self.layouts(m, sd)
            for v in sorted(set(lay.values())):
                funcs += self.gen_encoder(m, sd, v) + ["", ""]
                funcs += self.gen_decoder(m, sd, v) + ["", ""]
        for m, sd in self.all_structs:
            if sd.fields:
                tables.append(f"{sd.cls}._SCHEMA = (")
                for f in sd.fields:
                    tables.append(f"    {self.schema_entry(f)},")
                tables.append(")")
            else:
                tables.append(f"{sd.cls}._SCHEMA = ()")
        for m in self.msgs:
            lay = self.layouts(m, m.root)
            enc = ", ".join(f"{v}: _e_{m.root.cls}_{lay[v]}" for v in sorted(lay))
            dec = ", ".join(f"{v}: _d_{m.root.cls}_{lay[v]}" for v in sorted(lay))
            tables.append(f"{m.root.cls}._ENCODERS = {{{enc}}}")
            tables.append(f"{m.root.cls}._DECODERS = {{{dec}}}")

        head = [
            f"# Generated by tools/gen_protocol.py from {', '.join(self.sources)}.",
            "# DO NOT EDIT: change the generator and run `python tools/gen_protocol.py`.",
            "# fmt: off",
            "# ruff: noqa",
            "from __future__ import annotations",
            "",
            "import struct",
        ]
        if self.uses_uuid:
            head.append("import uuid")
        head += [
            "",
            "from ..base import (",
            "    DEFAULT,",
            "    FieldSpec,",
            "    Message,",
            "    Struct,",
            "    read_structs,",
            "    write_structs,",
            "    wrap_error,",
            ")",
            "from ..errors import ProtocolError",
            "from ..primitives import (",
            "    ZERO_UUID,",
            "    Buffer,",
            "    Reader,",
            "    w_array_len,",
            "    w_carray_len,",
            "    w_cbytes,",
            "    w_cnarray_len,",
            "    w_cnbytes,",
            "    w_cnstring,",
            "    w_cstring,",
            "    w_bytes,",
            "    w_narray_len,",
            "    w_nbytes,",
            "    w_no_tags,",
            "    w_nstring,",
            "    w_prim_array,",
            "    w_string,",
            "    w_tags,",
            ")",
            "",
            f"__all__ = [{', '.join(repr(sd.cls) for _, sd in self.all_structs)}]",
            "",
        ]
        consts = [
            f"{name} = struct.Struct({fmt!r})" for fmt, name in sorted(self.structs_fmt.items())
        ]
        text = "\n".join(head + consts + ["", ""] + classes + funcs + tables) + "\n"
        text = re.sub(r"\n{3,}(?=\S)", "\n\n\n", text)
        return text


# ------------------------------------------------------------------------------------------
# Driver
# ------------------------------------------------------------------------------------------


def module_name(name: str) -> str:
    return snake(name).rstrip("_")


def generate_all(specs: Path) -> dict[str, str]:
    raw = {p.stem: load_json(p) for p in sorted(specs.glob("*.json"))}
    files: dict[str, str] = {}
    registry: list[tuple[str, list[str]]] = []
    apis: list[tuple[int, str, str, str, str]] = []
    ranges: dict[int, tuple[int, int]] = {}
    for name, spec in sorted(raw.items()):
        if spec["type"] != "request" or "broker" not in spec.get("listeners", []):
            continue
        base = name[: -len("Request")]
        resp = raw[base + "Response"]
        msgs = [build_message(spec), build_message(resp)]
        mod = module_name(base)
        gen = ModuleGen(msgs, mod, [f"{name}.json", f"{base}Response.json"])
        files[f"{mod}.py"] = gen.generate()
        registry.append((mod, [sd.cls for _, sd in gen.all_structs]))
        apis.append((spec["apiKey"], base, mod, name, base + "Response"))
        ranges[spec["apiKey"]] = msgs[0].valid
    for name in DATA_TYPES + HEADER_TYPES:
        m = build_message(raw[name])
        mod = module_name(name)
        gen = ModuleGen([m], mod, [f"{name}.json"])
        files[f"{mod}.py"] = gen.generate()
        registry.append((mod, [sd.cls for _, sd in gen.all_structs]))
    files["__init__.py"] = gen_init(registry, sorted(apis), ranges)
    return files


def gen_init(registry: list[tuple[str, list[str]]], apis: list[tuple[int, str, str, str, str]],
             ranges: dict[int, tuple[int, int]]) -> str:
    top: list[tuple[str, str]] = []  # (class, module) for top-level messages
    for _key, _base, mod, req, resp in apis:
        top += [(req, mod), (resp, mod)]
    for n in DATA_TYPES + HEADER_TYPES:
        top.append((n, module_name(n)))
    L = [
        "# Generated by tools/gen_protocol.py. DO NOT EDIT.",
        '"""Generated Kafka protocol messages and a registry by API key.',
        "",
        "Each API has its own module (``produce``, ``fetch``, ``metadata`` ...) holding the request,",
        "the response and their nested struct classes. The top-level message classes are also",
        "importable from here; modules are imported lazily on first use, so importing this package",
        "stays cheap. ``from rdpy.protocol.messages import fetch`` names a module without importing",
        "it (a ``LazyModule`` until its first attribute is read, see rdpy/protocol/lazy.py).",
        '"""',
        "# fmt: off",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "from ..base import Message",
        "from ..lazy import LazyModule",
        "",
        "if TYPE_CHECKING:",
    ]
    for cls, mod in sorted(top, key=lambda x: (x[1], x[0])):
        L.append(f"    from .{mod} import {cls}")
    L.append("")
    L.append("#: API key -> API name (e.g. 0 -> 'Produce').")
    L.append("API_NAMES: dict[int, str] = {")
    for key, base, _, _, _ in apis:
        L.append(f"    {key}: {base!r},")
    L.append("}")
    L.append("")
    L.append("#: API key -> (module, request class name, response class name).")
    L.append("API_MODULES: dict[int, tuple[str, str, str]] = {")
    for key, _, mod, req, resp in apis:
        L.append(f"    {key}: ({mod!r}, {req!r}, {resp!r}),")
    L.append("}")
    L.append("")
    L.append("#: API key -> (lowest, highest) request version generated. Version negotiation reads")
    L.append("#: this table so that it never has to import the 72 API modules.")
    L.append("API_VERSIONS: dict[int, tuple[int, int]] = {")
    for key, *_ in apis:
        L.append(f"    {key}: {ranges[key]!r},")
    L.append("}")
    L.append("")
    L.append("#: Non-API message types (consumer protocol data, headers): class name -> module.")
    L.append("DATA_MODULES: dict[str, str] = {")
    for n in DATA_TYPES + HEADER_TYPES:
        L.append(f"    {n!r}: {module_name(n)!r},")
    L.append("}")
    L.append("")
    L.append("_CLASS_MODULES: dict[str, str] = {")
    for cls, mod in top:
        L.append(f"    {cls!r}: {mod!r},")
    L.append("}")
    L.append("")
    L.append('''

def _load(cls_name: str) -> type[Message]:
    mod = importlib.import_module(f"{__name__}.{_CLASS_MODULES[cls_name]}")
    cls: type[Message] = getattr(mod, cls_name)
    return cls


#: The generated modules, each holding at least one top-level class.
_MODULES = frozenset(_CLASS_MODULES.values())


def __getattr__(name: str) -> Any:
    if name in _CLASS_MODULES:
        cls = _load(name)
        globals()[name] = cls
        return cls
    if name in _MODULES:
        # Not imported yet (an import would have set the attribute): a proxy that imports
        # it on first use. A later real import replaces this attribute with the module.
        module = LazyModule(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def request_type(api_key: int) -> type[Message]:
    """The request class for ``api_key`` (KeyError if unknown)."""
    return _load(API_MODULES[api_key][1])


def response_type(api_key: int) -> type[Message]:
    """The response class for ``api_key`` (KeyError if unknown)."""
    return _load(API_MODULES[api_key][2])


def data_type(name: str) -> type[Message]:
    """A non-API message class by name, e.g. ``"ConsumerProtocolAssignment"``."""
    if name not in DATA_MODULES:
        raise KeyError(name)
    return _load(name)


def all_message_types() -> list[type[Message]]:
    """Every generated top-level message class (imports every module)."""
    return [_load(name) for name in _CLASS_MODULES]
'''.strip("\n"))
    L.append("")
    L.append("")
    L.append("__all__ = [")
    for n in ["API_NAMES", "API_MODULES", "API_VERSIONS", "DATA_MODULES", "request_type", "response_type", "data_type", "all_message_types"] + [c for c, _ in top]:
        L.append(f"    {n!r},")
    L.append("]")
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", type=Path, default=DEFAULT_SPECS, help="directory of Kafka *.json specs")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output package directory")
    ap.add_argument("--check", action="store_true", help="exit 1 if generated files differ")
    args = ap.parse_args(argv)
    if not args.specs.is_dir():
        print(f"spec directory not found: {args.specs}", file=sys.stderr)
        return 2
    files = generate_all(args.specs)
    out: Path = args.out
    if args.check:
        bad = []
        for name, text in sorted(files.items()):
            p = out / name
            if not p.exists() or p.read_text(encoding="utf-8") != text:
                bad.append(str(p))
        if out.is_dir():
            for p in sorted(out.glob("*.py")):
                if p.name not in files:
                    bad.append(f"{p} (stale, not generated)")
        if bad:
            print("generated protocol files are out of date:", file=sys.stderr)
            for b in bad:
                print(f"  {b}", file=sys.stderr)
            return 1
        print(f"{len(files)} generated files are up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for p in out.glob("*.py"):
        if p.name not in files:
            p.unlink()
    for name, text in sorted(files.items()):
        p = out / name
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
