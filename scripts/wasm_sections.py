"""Prints the size in bytes of one section of a wasm module (`code`, `data` or `custom`: all custom
sections together), or every section with no name given.

    python3 scripts/wasm_sections.py MODULE.wasm [code|data|custom]
"""
import sys

NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
         7: "export", 8: "start", 9: "element", 10: "code", 11: "data", 12: "datacount"}


def leb(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def sections(buf):
    if buf[:4] != b"\0asm":
        raise SystemExit("not a wasm module")
    sizes, pos = {}, 8
    while pos < len(buf):
        kind = buf[pos]
        size, pos = leb(buf, pos + 1)
        name = NAMES.get(kind, str(kind))
        sizes[name] = sizes.get(name, 0) + size
        pos += size
    return sizes


if __name__ == "__main__":
    sizes = sections(open(sys.argv[1], "rb").read())
    if len(sys.argv) > 2:
        print(sizes.get(sys.argv[2], 0))
    else:
        for name, size in sizes.items():
            print(f"{name} {size}")
