"""`edgebot models ...`: list, pull, verify and add model files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edgebot.cli.common import Add, say
from edgebot.errors import UsageError
from edgebot.settings import LoadedSettings


def cmd_models_list(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    rows = store.status()
    if args.json:
        print(json.dumps([
            {"name": r.entry.name, "kind": r.entry.kind, "installed": r.installed, "bytes": r.entry.bytes,
             "path": str(r.path), "license": r.entry.license, "default": r.entry.default} for r in rows
        ], indent=2))
        return 0
    width = max([28, *(len(r.entry.name) for r in rows)])
    print(f"{'NAME':<{width}} {'KIND':<10} {'STATE':<10} {'SIZE':>10}  PATH")
    for r in rows:
        size = r.size if r.size is not None else r.entry.bytes
        size_text = f"{size / 1e6:.1f} MB" if size else "?"
        state = "installed" if r.installed else "missing"
        print(f"{r.entry.name:<{width}} {r.entry.kind:<10} {state:<10} {size_text:>10}  {r.path}")
    return 0


def cmd_models_pull(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    names = list(args.names)
    if args.default:
        names += [n for n in store.defaults() if n not in names]
    if not names:
        raise UsageError("name a model to pull, or use --default (see `edgebot models list`)")
    for name in names:
        store.entry(name)  # fail on an unknown name before downloading anything
    for name in names:
        store.pull(name, progress=not args.quiet and sys.stderr.isatty(), say=say)
    return 0


def cmd_models_verify(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelStore

    store = ModelStore(loaded.settings.models_dir)
    names = args.names or [r.entry.name for r in store.status() if r.installed]
    if not names:
        say("no models installed; run `edgebot models pull --default`")
        return 1
    worst = 0
    for name in names:
        result = store.verify(name)
        print(f"{name}: {result}")
        if result == "mismatch":
            say(f"  {name} is corrupt: delete {store.path_for(name)} and run `edgebot models pull {name}`")
            worst = 1
        elif result == "missing":
            worst = max(worst, 1)
    return worst


def cmd_models_add(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.modelstore import ModelEntry, SourcePart, add_user_model, check_new_name, sha256_file

    if bool(args.url) == bool(args.path):
        raise UsageError("give exactly one of --url URL or --path FILE")
    check_new_name(loaded.settings.models_dir, args.name)  # before hashing a file of gigabytes
    if args.url:
        if not args.sha256:
            raise UsageError("--url needs --sha256 HASH so the download can be verified")
        part, file_name, size, digest = SourcePart(url=args.url), Path(args.url.split("?")[0]).name, None, args.sha256
    else:
        src = Path(args.path).expanduser().resolve()
        if not src.is_file():
            raise UsageError(f"{src} is not a file")
        if args.kind == "llm":
            from edgebot.llm.gguf_tools import check_gguf

            check_gguf(src)
        say(f"hashing {src} ...")
        part, file_name, size, digest = SourcePart(path=str(src)), src.name, src.stat().st_size, sha256_file(src)
        if args.sha256 and args.sha256.lower() != digest:
            raise UsageError(f"{src} has sha256 {digest}, not the {args.sha256} given")
    entry = ModelEntry(
        name=args.name, kind=args.kind, file=file_name or "model.gguf", sha256=digest.lower(), source=[part],
        bytes=size, license=args.license, description=args.description or "",
    )
    path = add_user_model(loaded.settings.models_dir, entry)
    select = f"select it with llm.model = \"{args.name}\" (or EDGEBOT_LLM_MODEL={args.name})"
    if args.url:
        print(f"added {args.name} to {path}; install it with `edgebot models pull {args.name}` and {select}")
        return 0
    from edgebot.modelstore import ModelStore  # a local file: installed (copied and verified) at once

    ModelStore(loaded.settings.models_dir).pull(args.name, progress=sys.stderr.isatty(), say=say)
    print(f"added and installed {args.name} (catalog: {path}); {select}")
    return 0


def _model_file(spec: str, loaded: LoadedSettings) -> Path:
    """A GGUF path, or the installed file of a catalog name."""
    from edgebot.modelstore import ModelStore

    path = Path(spec).expanduser()
    if path.exists() or "/" in spec or spec.endswith(".gguf"):
        return path
    return ModelStore(loaded.settings.models_dir).require(spec)


def cmd_models_info(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    from edgebot.llm.gguf_tools import info

    result = info(_model_file(args.file, loaded))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for key, value in result.items():
        if key == "parameters":
            value = f"{value:,} ({value / 1e6:.0f}M)"
        elif key == "size_bytes":
            value = f"{value / 1e6:.1f} MB"
        elif key == "chat_template":
            value = "present" if value else "absent (ChatML is used)"
        print(f"{key.replace('_', ' '):<16} {value}")
    return 0


def cmd_models_quantize(args: argparse.Namespace, loaded: LoadedSettings) -> int:
    import time

    from edgebot.llm.gguf_tools import quantize

    src = _model_file(args.input, loaded)
    say(f"quantizing {src.name} to {args.type.upper()} (a minute or two for small models)...")
    started = time.perf_counter()
    result = quantize(src, Path(args.output).expanduser(), args.type, args.threads)
    print(f"wrote {result['output']} ({result['type']}, {result['size_bytes'] / 1e6:.1f} MB from "
          f"{result['source_size_bytes'] / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; add it with "
          f"`edgebot models add NAME --path {result['output']}`")
    if "note" in result:
        say(f"note: {result['note']}")
    return 0


def register(sub: Any, add: Add) -> None:
    models = sub.add_parser("models", help="List, pull, verify and add models.", description="Manage model files.")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = add(msub, "list", cmd_models_list, "List catalog models: installed or missing, size and path.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add(msub, "pull", cmd_models_pull, "Download models, check sha256, install atomically.")
    p.add_argument("names", nargs="*", metavar="NAME", help="catalog names to pull")
    p.add_argument("--default", action="store_true", help="pull the default chat model, encoder and tokenizer")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p = add(msub, "verify", cmd_models_verify, "Re-hash installed models against the catalog's sha256.")
    p.add_argument("names", nargs="*", metavar="NAME", help="models to verify (default: all installed)")
    p = add(msub, "info", cmd_models_info,
            "What a GGUF file is: architecture, parameters, quantization, context length, chat template.")
    p.add_argument("file", metavar="FILE", help="a .gguf file, or the catalog name of an installed model")
    p.add_argument("--json", action="store_true", help="print JSON")
    from edgebot.llm.gguf_tools import QUANT_TYPES

    p = add(msub, "quantize", cmd_models_quantize, "Make a quantized variant of a GGUF model (llama.cpp's quantizer).")
    p.add_argument("input", metavar="IN", help="a .gguf file, or the catalog name of an installed model")
    p.add_argument("output", metavar="OUT", help="the .gguf file to write (must not exist)")
    p.add_argument("--type", required=True, type=str.upper, choices=QUANT_TYPES, metavar="TYPE",
                   help=f"target type: {', '.join(QUANT_TYPES)}")
    p.add_argument("--threads", type=int, default=0, help="threads (default: all cores)")
    p = add(msub, "add", cmd_models_add, "Add your own GGUF model: by URL (then `models pull`), or a local file (added and installed at once).")
    p.add_argument("name", help="a name for it (lowercase letters, digits, . _ -)")
    p.add_argument("--url", help="https URL of the file")
    p.add_argument("--path", help="a local file")
    p.add_argument("--sha256", help="expected sha256 (required with --url)")
    p.add_argument("--kind", default="llm", choices=["llm", "encoder", "tokenizer"], help="model kind (default llm)")
    p.add_argument("--license", default="unknown", help="the model's licence, for the record")
    p.add_argument("--description", help="a short description")
