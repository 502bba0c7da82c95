"""``jiayuan import-residents``: what an operator or a script sees, and the exit status it gets."""

from __future__ import annotations

import getpass
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from openpyxl import Workbook

from jiayuan import cli
from jiayuan.conftest import ID_NUMBERS
from jiayuan.core.models import AuditEvent
from jiayuan.people.models import Resident

REPORT_KEYS = {"rows", "valid", "errors", "created", "updated", "committed", "new_buildings"}


def roster(*rows: list) -> bytes:
    workbook = Workbook()
    for row in (["楼号", "室号", "姓名", "身份证号"], *rows):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(roster(["3", "301", "张三", ID_NUMBERS[0]], ["3", "302", "李四", ""]))
    return path


@pytest.fixture
def bad_file(tmp_path):
    path = tmp_path / "有错.xlsx"
    path.write_bytes(roster(["3", "301", "张三", ID_NUMBERS[0]], ["3", "302", "", "310113198001010014"]))
    return path


@pytest.fixture
def jiayuan(monkeypatch, capsys):
    """Run the real console command in-process; returns (exit status, stdout, stderr)."""
    # run_from_argv closes every connection when it ends, which would end the test's transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(*args: str) -> tuple[int, str, str]:
        try:
            cli.main(["jiayuan", "import-residents", *args])
        except SystemExit as exc:
            status = exc.code
        else:
            status = 0
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_preview_prints_one_json_object_and_exits_0(neighbourhood, good_file, jiayuan):
    status, out, err = jiayuan(str(good_file), "--neighbourhood", "t1", "--json")

    assert (status, err) == (0, "")
    report = json.loads(out)
    assert set(report) == REPORT_KEYS
    assert report["created"] == {"compounds": 1, "buildings": 1, "households": 2, "residents": 2}
    assert (report["rows"], report["valid"], report["committed"]) == (2, 2, False)
    assert not Resident.objects.exists()


def test_commit_writes_and_audits_as_the_shell_user(neighbourhood, good_file, jiayuan):
    status, out, _err = jiayuan(str(good_file), "--neighbourhood", "T1", "--commit", "--json")

    assert status == 0
    assert json.loads(out)["committed"] is True
    assert Resident.objects.count() == 2
    assert AuditEvent.objects.get(action="roster.import").actor_label == f"cli:{getpass.getuser()}"


def test_errors_exit_1_with_only_the_json_on_stdout(neighbourhood, bad_file, jiayuan):
    status, out, err = jiayuan(str(bad_file), "--neighbourhood", "T1", "--commit", "--json")

    assert (status, err) == (1, "")
    report = json.loads(out)
    assert report["committed"] is False
    assert report["errors"] == [
        {"row": 3, "column": "姓名", "message": "缺少姓名"},
        {"row": 3, "column": "身份证号", "message": "身份证号校验位错误,请核对"},
    ]
    assert not Resident.objects.exists()


def test_readable_summary_lists_errors_by_row_and_column(neighbourhood, bad_file, jiayuan):
    status, out, _err = jiayuan(str(bad_file), "--neighbourhood", "T1")

    assert status == 1
    assert "共 2 行:无误 1 行,有误 1 行。" in out
    assert "第3行 [姓名] 缺少姓名" in out
    assert "第3行 [身份证号] 身份证号校验位错误,请核对" in out
    assert "未写入任何数据" in out


def test_readable_summary_of_a_commit(neighbourhood, good_file, jiayuan):
    status, out, _err = jiayuan(str(good_file), "--neighbourhood", "T1", "--commit")

    assert status == 0
    assert "已新建小区 1 个、楼栋 1 栋、住户 2 户、居民 2 人;已更新居民 0 人。" in out
    assert "新楼栋:泰和居民区 3号楼" in out
    assert "导入完成" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{good}", "--neighbourhood", "NOPE"], "没有编码为 NOPE 的居民区"),
        (["{missing}", "--neighbourhood", "T1"], "找不到文件"),
        (["{folder}", "--neighbourhood", "T1"], "无法读取文件"),
        (["{text}", "--neighbourhood", "T1"], "只支持 .xlsx 和 .csv 文件"),
        (["{headless}", "--neighbourhood", "T1"], "没有找到表头"),
        (["{good}"], "--neighbourhood"),
    ],
)
def test_usage_errors_exit_2_with_a_message_on_stderr(neighbourhood, good_file, tmp_path, jiayuan, args, message):
    (tmp_path / "名单.txt").write_text("姓名,楼号,室号\n")
    (tmp_path / "说明.csv").write_text("这不是名单\n")
    paths = {
        "good": good_file,
        "missing": tmp_path / "没有.xlsx",
        "folder": tmp_path,
        "text": tmp_path / "名单.txt",
        "headless": tmp_path / "说明.csv",
    }

    status, out, err = jiayuan(*[a.format(**paths) for a in args], "--json")

    assert (status, out) == (2, "")
    assert message in err


def test_call_command_raises_command_error_with_returncode_2(neighbourhood, good_file):
    with pytest.raises(CommandError) as exc:
        call_command("import_residents", str(good_file), neighbourhood="NOPE", stdout=io.StringIO())

    assert exc.value.returncode == 2


def test_call_command_preview(neighbourhood, good_file):
    out = io.StringIO()

    call_command("import_residents", str(good_file), neighbourhood="T1", json=True, stdout=out)

    assert json.loads(out.getvalue())["valid"] == 2
