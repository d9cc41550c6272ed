"""XSD reader for the EXI generator: loads a schema set (imports/includes) into a small model.

Only what the V2G schemas use is modelled; anything else raises XsdError naming the file and
construct, so a schema change cannot be mis-generated silently.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

XS = "http://www.w3.org/2001/XMLSchema"
UNBOUNDED = -1


class XsdError(Exception):
    pass


@dataclass(eq=False)
class SimpleType:
    name: tuple[str, str] | None
    base: tuple[str, str] | None = None          # named base (builtin when ns == XS)
    base_anon: "SimpleType | None" = None
    facets: dict[str, str] = field(default_factory=dict)
    enums: list[str] = field(default_factory=list)
    where: str = ""


@dataclass(eq=False)
class Attribute:
    ns: str
    name: str
    type: tuple[str, str] | SimpleType
    required: bool


@dataclass(eq=False)
class Particle:
    kind: str                                    # "elem" | "seq" | "choice" | "any"
    min: int = 1
    max: int = 1                                 # UNBOUNDED = -1
    elem: "Element | None" = None
    ref: tuple[str, str] | None = None           # element reference (resolved via globals)
    children: list["Particle"] = field(default_factory=list)
    ns_any: str = ""


@dataclass(eq=False)
class ComplexType:
    name: tuple[str, str] | None
    attrs: list[Attribute] = field(default_factory=list)
    particle: Particle | None = None
    simple: tuple[str, str] | SimpleType | None = None  # simpleContent value type
    mixed: bool = False
    abstract: bool = False
    ext_base: tuple[str, str] | None = None      # complexContent/simpleContent extension base
    derivation: str = ""                         # "extension" | "restriction" | ""
    where: str = ""


@dataclass(eq=False)
class Element:
    ns: str
    name: str
    type: tuple[str, str] | ComplexType | SimpleType | None
    subst: tuple[str, str] | None = None
    abstract: bool = False
    is_global: bool = False


@dataclass
class SchemaSet:
    root: Path
    elements: dict[tuple[str, str], Element] = field(default_factory=dict)
    types: dict[tuple[str, str], ComplexType | SimpleType] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def element(self, qn: tuple[str, str]) -> Element:
        try:
            return self.elements[qn]
        except KeyError:
            raise XsdError(f"unknown element {{{qn[0]}}}{qn[1]}") from None

    def named_type(self, qn: tuple[str, str]) -> ComplexType | SimpleType:
        try:
            return self.types[qn]
        except KeyError:
            raise XsdError(f"unknown type {{{qn[0]}}}{qn[1]}") from None

    def substitutes(self, head: tuple[str, str]) -> list[Element]:
        """The head and every global element whose substitutionGroup chain reaches it, sorted."""
        out = []
        for qn, el in self.elements.items():
            cur: Element | None = el
            seen = 0
            while cur is not None and seen < 64:
                if (cur.ns, cur.name) == head:
                    out.append(el)
                    break
                cur = self.elements.get(cur.subst) if cur.subst else None
                seen += 1
        return sorted(out, key=lambda e: (e.name, e.ns))


def _occurs(node: ET.Element) -> tuple[int, int]:
    lo = int(node.get("minOccurs", "1"))
    hi_s = node.get("maxOccurs", "1")
    return lo, (UNBOUNDED if hi_s == "unbounded" else int(hi_s))


class _Loader:
    def __init__(self, root: Path) -> None:
        self.set = SchemaSet(root=root)
        self.loaded: set[Path] = set()

    def load(self, path: Path) -> None:
        path = path.resolve()
        if path in self.loaded:
            return
        self.loaded.add(path)
        self.set.files.append(path)
        nsmap: dict[str, str] = {}
        for event, item in ET.iterparse(path, events=("start-ns",)):
            prefix, uri = item
            nsmap.setdefault(prefix, uri)
        tree = ET.parse(path).getroot()
        ctx = _FileCtx(self, path, tree, nsmap)
        ctx.run()


class _FileCtx:
    def __init__(self, loader: _Loader, path: Path, root: ET.Element, nsmap: dict[str, str]) -> None:
        self.loader = loader
        self.path = path
        self.root = root
        self.nsmap = nsmap
        self.tns = root.get("targetNamespace", "")
        self.elem_qualified = root.get("elementFormDefault") == "qualified"
        self.attr_qualified = root.get("attributeFormDefault") == "qualified"

    def _locate(self, loc: str) -> Path:
        """schemaLocation relative to this file; the wheel keeps xmldsig one folder up for DIN."""
        for folder in (self.path.parent, *self.path.parents):
            cand = folder / loc
            if cand.is_file():
                return cand
            if folder == self.loader.set.root.parent.parent:
                break
        raise self.err(f"imported schema {loc!r} not found")

    def err(self, msg: str) -> XsdError:
        return XsdError(f"{self.path.name}: {msg}")

    def qname(self, text: str) -> tuple[str, str]:
        if ":" in text:
            prefix, local = text.split(":", 1)
            if prefix not in self.nsmap:
                raise self.err(f"unknown prefix in {text!r}")
            return self.nsmap[prefix], local
        return self.nsmap.get("", ""), text

    def run(self) -> None:
        for child in self.root:
            tag = _tag(child)
            if tag in ("import", "include"):
                loc = child.get("schemaLocation")
                if not loc:
                    raise self.err(f"{tag} without schemaLocation")
                self.loader.load(self._locate(loc))
            elif tag == "element":
                el = self.element(child, is_global=True)
                self.loader.set.elements[(el.ns, el.name)] = el
            elif tag == "complexType":
                ct = self.complex_type(child)
                self.loader.set.types[ct.name] = ct  # type: ignore[index]
            elif tag == "simpleType":
                st = self.simple_type(child)
                self.loader.set.types[st.name] = st  # type: ignore[index]
            elif tag in ("annotation",):
                continue
            else:
                raise self.err(f"unsupported top-level construct <{tag}>")

    def element(self, node: ET.Element, is_global: bool) -> Element:
        name = node.get("name")
        if name is None:
            raise self.err("element without name")
        qualified = is_global or node.get("form", "qualified" if self.elem_qualified else "unqualified") == "qualified"
        ns = self.tns if qualified else ""
        typ: tuple[str, str] | ComplexType | SimpleType | None
        if node.get("type"):
            typ = self.qname(node.get("type"))  # type: ignore[arg-type]
        else:
            typ = None
            for sub in node:
                if _tag(sub) == "complexType":
                    typ = self.complex_type(sub, anon_for=name)
                elif _tag(sub) == "simpleType":
                    typ = self.simple_type(sub, anon_for=name)
            if typ is None:
                typ = (XS, "anyType")
        subst = self.qname(node.get("substitutionGroup")) if node.get("substitutionGroup") else None
        return Element(ns=ns, name=name, type=typ, subst=subst,
                       abstract=node.get("abstract") == "true", is_global=is_global)

    def simple_type(self, node: ET.Element, anon_for: str | None = None) -> SimpleType:
        name = (self.tns, node.get("name")) if node.get("name") else None
        st = SimpleType(name=name, where=f"{self.path.name}:{node.get('name') or anon_for}")
        subs = [s for s in node if _tag(s) != "annotation"]
        if len(subs) != 1 or _tag(subs[0]) != "restriction":
            raise self.err(f"simpleType {st.where}: only <restriction> is supported")
        res = subs[0]
        if res.get("base"):
            st.base = self.qname(res.get("base"))  # type: ignore[arg-type]
        for f in res:
            ftag = _tag(f)
            if ftag == "enumeration":
                st.enums.append(f.get("value", ""))
            elif ftag == "simpleType":
                st.base_anon = self.simple_type(f, anon_for=st.where)
            elif ftag in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive",
                          "length", "minLength", "maxLength", "totalDigits", "fractionDigits"):
                st.facets[ftag] = f.get("value", "")
            elif ftag == "pattern":
                raise self.err(f"simpleType {st.where}: pattern facets are not supported")
            elif ftag == "annotation":
                continue
            else:
                raise self.err(f"simpleType {st.where}: unsupported facet <{ftag}>")
        return st

    def complex_type(self, node: ET.Element, anon_for: str | None = None) -> ComplexType:
        name = (self.tns, node.get("name")) if node.get("name") else None
        ct = ComplexType(name=name, mixed=node.get("mixed") == "true",
                         abstract=node.get("abstract") == "true",
                         where=f"{self.path.name}:{node.get('name') or anon_for}")
        for sub in node:
            tag = _tag(sub)
            if tag in ("sequence", "choice", "all"):
                ct.particle = self.particle(sub)
            elif tag == "attribute":
                ct.attrs.append(self.attribute(sub))
            elif tag in ("complexContent", "simpleContent"):
                if sub.get("mixed") == "true":
                    ct.mixed = True
                derivs = [d for d in sub if _tag(d) in ("extension", "restriction")]
                if len(derivs) != 1:
                    raise self.err(f"complexType {ct.where}: {tag} needs one derivation")
                d = derivs[0]
                ct.derivation = _tag(d)
                ct.ext_base = self.qname(d.get("base"))  # type: ignore[arg-type]
                if tag == "simpleContent":
                    ct.simple = ct.ext_base
                for dd in d:
                    dtag = _tag(dd)
                    if dtag in ("sequence", "choice", "all"):
                        ct.particle = self.particle(dd)
                    elif dtag == "attribute":
                        ct.attrs.append(self.attribute(dd))
                    elif dtag == "annotation":
                        continue
                    else:
                        raise self.err(f"complexType {ct.where}: unsupported <{dtag}> in derivation")
            elif tag == "annotation":
                continue
            else:
                raise self.err(f"complexType {ct.where}: unsupported <{tag}>")
        return ct

    def attribute(self, node: ET.Element) -> Attribute:
        name = node.get("name")
        if name is None or node.get("ref"):
            raise self.err("attribute references are not supported")
        qualified = node.get("form", "qualified" if self.attr_qualified else "unqualified") == "qualified"
        typ: tuple[str, str] | SimpleType = (XS, "anySimpleType")
        if node.get("type"):
            typ = self.qname(node.get("type"))  # type: ignore[arg-type]
        else:
            for sub in node:
                if _tag(sub) == "simpleType":
                    typ = self.simple_type(sub, anon_for=name)
        return Attribute(ns=self.tns if qualified else "", name=name, type=typ,
                         required=node.get("use") == "required")

    def particle(self, node: ET.Element) -> Particle:
        tag = _tag(node)
        lo, hi = _occurs(node)
        if tag == "element":
            if node.get("ref"):
                return Particle(kind="elem", min=lo, max=hi, ref=self.qname(node.get("ref")))  # type: ignore[arg-type]
            return Particle(kind="elem", min=lo, max=hi, elem=self.element(node, is_global=False))
        if tag == "any":
            return Particle(kind="any", min=lo, max=hi, ns_any=node.get("namespace", "##any"))
        if tag in ("sequence", "choice"):
            kids = [self.particle(s) for s in node if _tag(s) != "annotation"]
            return Particle(kind="seq" if tag == "sequence" else "choice", min=lo, max=hi, children=kids)
        raise self.err(f"unsupported particle <{tag}>")


def _tag(node: ET.Element) -> str:
    tag = node.tag
    if not isinstance(tag, str):
        return "#comment"
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        if ns != XS:
            return f"{{{ns}}}{local}"
        return local
    return tag


def load(root_xsd: Path) -> SchemaSet:
    loader = _Loader(root_xsd)
    loader.load(root_xsd)
    return loader.set
