"""Exercises: the final "Exercises" section of each notebook, its student version and its check.

Authoring (in the notebook, after everything else):
  - a markdown cell `## Exercises` opens the section; it holds its own setup code cell (imports,
    `initBackend()`), so the section runs without the rest of the notebook (cheap: no training);
  - a code cell tagged `solution` holds the answer between the lines `// BEGIN SOLUTION` and
    `// END SOLUTION`; declare the answer before them (`let exNN... : T | undefined = undefined;`) so
    that the student's stub still compiles;
  - a code cell tagged `check` calls `checkAnswer(name, answer, expected, { hint })`
    (lib/display/exercise.ts) with `expected` computed by the library.

Student version (`student_notebook`): each solution block becomes STUB, outputs are cleared.
Instructor version: the notebook itself.

Check (`run_sections`): the section alone (setup + exercises, not the whole notebook, so no
training) runs twice: first the student version, in which every `check` cell must fail saying the
answer is missing (checkAnswer's "no answer yet", not a compile error) and every other cell must
pass; then the instructor version (the solutions put back), in which every cell must pass. All
notebooks' sections share one kernel. Cells run on past a failure (after a pause: tslab ignores
requests for ~200 ms after an error). The full notebook run (`nbtools.py run`) executes the
instructor version in context too.
"""
from __future__ import annotations

import copy
import re
import time

HEADING = "Exercises"
BEGIN, END = "// BEGIN SOLUTION", "// END SOLUTION"
STUB = "// YOUR ANSWER HERE (see the exercise above); the check cell below tells you if it is right"
SECTION_HEADING = re.compile(r"^\s{0,3}#{1,2}\s+(.*?)\s*$")
MIN_EXERCISES = 2


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def section_start(nb) -> int | None:
    """Index of the markdown cell that opens the final Exercises section, or None."""
    for index in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[index]
        if cell.cell_type == "markdown":
            m = SECTION_HEADING.match(cell.source.lstrip().split("\n")[0])
            if m and m.group(1).strip().lower() == HEADING.lower():
                return index
    return None


def stubbed(source: str, where: str) -> str:
    """`source` with each BEGIN/END SOLUTION block replaced by STUB (same indentation)."""
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}: '{BEGIN}' inside a solution block")
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN}' without '{END}'")
    if len(out) == len(lines):
        raise ValueError(f"{where}: a cell tagged 'solution' needs a '{BEGIN}' ... '{END}' block")
    return "\n".join(out)


def student_notebook(nb, name: str):
    """The student version: solution blocks stubbed, every output cleared."""
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if "solution" in tags(cell):
            cell.source = stubbed(cell.source, f"{name} cell {index}")
    return out


def section_run_notebook(nb, name: str):
    """
    The notebook that run_section executes: the section's student cells, then its instructor
    cells. Returns (notebook, expected) with expected[i] True where cell i must fail.
    """
    start = section_start(nb)
    if start is None:
        raise ValueError(f"{name}: no '## {HEADING}' section")
    section = nb.cells[start:]
    student = student_notebook(nb, name).cells[start:]
    run = copy.deepcopy(nb)
    run.cells = [copy.deepcopy(c) for c in student + section]
    for cell in run.cells:
        cell.pop("id", None)
    expected = [i < len(student) and c.cell_type == "code" and "check" in tags(c) for i, c in enumerate(run.cells)]
    return run, expected


# What checkAnswer (lib/display/exercise.ts) says about an unanswered exercise.
UNANSWERED = "no answer yet"


def output_text(cell) -> str:
    """Every text a cell's outputs carry (streams, error outputs), whatever way the kernel reports errors."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("evalue", ""))
        parts.extend(out.get("traceback", []))
    return "\n".join(parts)


def counts(nb) -> tuple[int, int]:
    """(solution cells, check cells) in the Exercises section."""
    start = section_start(nb)
    cells = nb.cells[start:] if start is not None else []
    return sum("solution" in tags(c) for c in cells), sum("check" in tags(c) for c in cells)


def run_sections(paths, kernel_name: str, timeout: int, cell_problem, say) -> bool:
    """
    Execute the Exercises section of every notebook in `paths` twice (module docstring), all in one
    kernel (a kernel start costs more than a section), and compare which cells fail with the
    expected ones. The answers' names are the notebooks' own (exNN...), so sections do not clash.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    ok = True
    plan = []  # (name, notebook to run, expected failures, checks)
    for path in paths:
        name = path.stem
        nb = nbformat.read(path, as_version=4)
        solutions, checks = counts(nb)
        if section_start(nb) is None:
            # Every notebook is teaching material: one without exercises is incomplete, not exempt.
            say(f"FAIL {name}: no '## {HEADING}' section (add one with at least {MIN_EXERCISES} exercises)")
            ok = False
            continue
        if checks < MIN_EXERCISES or solutions < MIN_EXERCISES:
            say(f"FAIL {name}: the {HEADING} section has {solutions} solution and {checks} check cells, at least {MIN_EXERCISES} of each wanted")
            ok = False
            continue
        try:
            run, expected = section_run_notebook(nb, name)
        except ValueError as e:
            say(f"FAIL {e}")
            ok = False
            continue
        plan.append((name, run, expected, checks))
    if not plan:
        return ok
    client = NotebookClient(plan[0][1], kernel_name=kernel_name, timeout=timeout, startup_timeout=120, resources={"metadata": {"path": str(paths[0].parent)}})
    with client.setup_kernel():
        for name, run, expected, checks in plan:
            started = time.monotonic()
            client.nb = run
            failed: dict[int, str] = {}
            for index, cell in enumerate(run.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                status = "ok"
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except CellExecutionError:
                    status = "error"
                except (CellTimeoutError, DeadKernelError) as e:
                    failed[index] = type(e).__name__
                    break
                reason = cell_problem(cell, status)
                if reason:
                    errors = [o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr"]
                    first = next((l for l in "".join(errors).split("\n") if l.strip()), "")
                    failed[index] = f"{reason}: {first.strip()[:300]}" if first else reason
                    time.sleep(0.5)  # tslab drops requests for ~200 ms after an error
            half = len(run.cells) // 2
            wrong = []
            for index, cell in enumerate(run.cells):
                if cell.cell_type != "code":
                    continue
                version, at = ("student", index) if index < half else ("instructor", index - half)
                if expected[index] and index not in failed:
                    wrong.append(f"{version} version, section cell {at}: the check passed on the stub (it must fail until the exercise is done)")
                elif expected[index] and UNANSWERED not in output_text(cell):
                    wrong.append(f"{version} version, section cell {at}: the check failed for another reason than the missing answer: {failed[index]}")
                elif not expected[index] and index in failed:
                    wrong.append(f"{version} version, section cell {at}: {failed[index]}")
            say(f"{'FAIL' if wrong else 'ok  '} {name} exercises: {checks} checks fail on the student version and pass with the solutions ({time.monotonic() - started:.1f} s)")
            for w in wrong:
                say(f"     {name} {w}")
            ok = ok and not wrong
    return ok
