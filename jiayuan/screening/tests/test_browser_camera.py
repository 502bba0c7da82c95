"""In Chromium at phone size, with a fake camera that shows a resident's QR code: the sampler
opens a tube, taps the camera button, and the code read from the picture is swabbed into the tube
— once, though the code stays in view."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from jiayuan.conftest import phone_page, sign_in
from jiayuan.core.qr import qr_code
from jiayuan.screening import services
from jiayuan.screening.codes import sampling_code
from jiayuan.screening.models import Sample, Tube

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def write_y4m(path: Path, text: str, width: int = 640, height: int = 480, frames: int = 3) -> None:
    """A Y4M video (what Chromium's fake camera plays, looped) of ``text`` as the QR code Jiayuan
    prints for it, on white."""
    qr = qr_code(text)
    rows = [bytes(235 if not dark else 16 for dark in row) for row in qr.matrix_iter(scale=8, border=4)]
    size = len(rows)
    assert size <= height, size
    top, left = (height - size) // 2, (width - size) // 2
    luma = bytearray([235]) * (width * height)
    for y, row in enumerate(rows):
        start = (top + y) * width + left
        luma[start : start + size] = row
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + bytes(luma) + chroma + chroma)


@pytest.mark.browser
def test_camera_reads_a_residents_qr_code_into_the_open_tube(
    live_server, tmp_path, frozen, neighbourhood, staff, sampler, residents
):
    round_ = services.round_create(actor=staff, neighbourhood=neighbourhood, date=frozen, pool_size=5)
    person = residents["b1"][0]
    video = tmp_path / "qr.y4m"
    write_y4m(video, sampling_code(person.pk))
    camera = [
        "--use-fake-ui-for-media-stream",  # allow the camera without a prompt
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    with phone_page(camera) as page:
        sign_in(page, live_server.url, "sampler", "sampler-pass-1")
        page.goto(f"{live_server.url}/screening/{round_.pk}/sample/")
        page.wait_for_load_state("load")
        status = page.locator("#scan-status")
        page.locator("#scan-code").fill("TB-CAM-1")
        page.locator("#scan-code").press("Enter")
        expect(status).to_contain_text("已开管 TB-CAM-1")

        toggle = page.locator("#camera-toggle")
        expect(toggle).to_have_text("用摄像头扫码")
        toggle.click()
        expect(page.locator("#camera")).to_be_visible()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        # Decoding runs in the page's JavaScript (ZXing: no BarcodeDetector in Chromium on Linux) on
        # frames of Chromium's fake camera; with the whole suite running on two cores, the first
        # frames have taken more than 20 s to arrive and be read. The camera's own note says why
        # when it does not open at all.
        expect(page.locator("#camera-note")).to_be_hidden()
        expect(page.locator("#tube-fill")).to_have_text("1/5", timeout=60_000)
        expect(status).to_have_class("status state-ok")
        # The code stays in front of the camera: it is not sent again at once, and when it is
        # (after the pause) the answer is the clear "already swabbed", not a second sample.
        page.wait_for_timeout(1500)
        expect(page.locator("#tube-fill")).to_have_text("1/5")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sampler-camera.png"), full_page=True)
        expect(status).to_contain_text("已采样", timeout=10_000)
        page.get_by_role("button", name="关闭摄像头").click()
        expect(page.locator("#camera")).to_be_hidden()
    tube = Tube.objects.get(round=round_, barcode="TB-CAM-1")
    assert tube.fill_count == 1
    assert list(Sample.objects.filter(round=round_).values_list("resident_id", flat=True)) == [person.pk]


def test_short_sampling_codes_are_regular_qr_codes_not_micro_qr():
    """Phone scanners (WeChat, ZXing, BarcodeDetector) cannot read Micro QR, which segno picks
    for short texts such as a low resident id's code."""
    for text in (sampling_code(1), sampling_code(12), "R1", "x"):
        code = qr_code(text)
        assert not code.is_micro and code.designator.startswith("1"), (text, code.designator)
