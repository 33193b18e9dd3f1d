import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("busy_machine", ROOT / "bench" / "busy_machine.py")
busy_machine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(busy_machine)


def test_section_is_replaced_in_place_and_kept_for_run_all():
    start, end = busy_machine.START, busy_machine.END
    doc = f"# Benchmarks\n\nA\n\n{start}\nold\n{end}\n\nB\n"
    assert busy_machine.replace_section(doc, "new") == f"# Benchmarks\n\nA\n\n{start}\nnew\n{end}\n\nB\n"
    assert busy_machine.replace_section("# B\n", "new\n") == f"# B\n\n{start}\nnew\n{end}\n"
    assert busy_machine.current_section(doc) == f"{start}\nold\n{end}"
    assert busy_machine.current_section("# B\n") == ""
