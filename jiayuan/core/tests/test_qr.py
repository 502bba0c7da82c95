"""QR codes: always regular QR (see screening's camera test), and drawn once per text — a
household's page draws the same residents' sampling codes on every visit."""

from __future__ import annotations

from jiayuan.core import qr


def test_the_same_text_is_encoded_once(monkeypatch):
    made = []
    real = qr.segno.make_qr

    def counting(text, **kwargs):
        made.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(qr.segno, "make_qr", counting)
    qr.qr_svg.cache_clear()
    first = qr.qr_svg("R12-ABCDEFGH", scale=5)
    again = qr.qr_svg("R12-ABCDEFGH", scale=5)
    other = qr.qr_svg("R13-ABCDEFGH", scale=5)
    assert again == first and other != first and first.startswith("<svg")
    assert made == ["R12-ABCDEFGH", "R13-ABCDEFGH"]
    qr.qr_svg.cache_clear()
