"""Lists the functions of a source tree that a mutation trial can break (module-level
functions and methods, also inside if/try blocks and nested classes; not nested functions,
not @overload stubs): for each, where `raise RuntimeError("vigil mutation")` goes (the first
statement after any docstring) and with what indentation. Only points whose mutated module
still parses are listed. Usage: python selection_points.py ROOT DIR... -> one JSON object per
line, files sorted, functions in source order. `line` is 1-based: insert before that line
(the file split on "\n"; one past the last line appends).
"""
import ast
import json
import os
import sys

RAISE = 'raise RuntimeError("vigil mutation")'


def indentation(line):
    return line[: len(line) - len(line.lstrip(" \t"))]


def is_docstring(stmt):
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def starts_own_line(stmt, lines):
    """The statement (or its first decorator) is the first thing on its line."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    text = lines[first - 1]
    indent = indentation(text)
    # col_offset counts UTF-8 bytes; indentation is ASCII. A decorator's '@' is one column
    # before its expression, and at the def's column.
    return first, indent if len(indent.encode()) == stmt.col_offset else None


def point(func, lines):
    if any(ast.unparse(d).split(".")[-1] == "overload" for d in func.decorator_list):
        return None
    body = func.body
    if is_docstring(body[0]):
        if len(body) == 1:
            line, indent = starts_own_line(body[0], lines)
            return (body[0].end_lineno + 1, indent) if indent is not None else None
        stmt = body[1]
        if stmt.lineno <= body[0].end_lineno:
            return None
    else:
        stmt = body[0]
    line, indent = starts_own_line(stmt, lines)
    return (line, indent) if indent is not None else None


def functions(node, prefix):
    """(qualified name, node) of module-level functions and methods, in source order."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + child.name, child
        elif isinstance(child, ast.ClassDef):
            yield from functions(child, prefix + child.name + ".")
        elif isinstance(child, ast.stmt):
            yield from functions(child, prefix)


def mutate(text, line, indent):
    parts = text.split("\n")
    parts.insert(line - 1, indent + RAISE)
    return "\n".join(parts)


def points(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        text = f.read().decode("utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    lines = text.split("\n")
    for name, func in functions(tree, ""):
        found = point(func, lines)
        if found is None:
            continue
        line, indent = found
        try:
            ast.parse(mutate(text, line, indent))
        except SyntaxError:
            continue
        yield {"file": rel, "line": line, "indent": indent, "name": name, "def_line": func.lineno}


def main():
    root = sys.argv[1]
    files = []
    for top in sys.argv[2:]:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                if name.endswith(".py"):
                    files.append(os.path.relpath(os.path.join(dirpath, name), root))
    for rel in sorted(files):
        for p in points(root, rel):
            print(json.dumps(p))


if __name__ == "__main__":
    main()
