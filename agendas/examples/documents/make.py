"""Regenerate the demo meeting's sample documents (the PDFs beside this file).

    python agendas/examples/documents/make.py

They are committed so the demo needs nothing at start; this script says where they came
from. The text is invented but shaped like a province's real papers: numbered sections,
Vietnamese throughout (so that search without diacritics can be tried), one confidential.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pymupdf

HERE = Path(__file__).resolve().parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

DOCUMENTS = {
    "chuong-trinh-hoi-nghi.pdf": (
        "CHƯƠNG TRÌNH HỘI NGHỊ BAN CHẤP HÀNH ĐẢNG BỘ TỈNH LẦN THỨ 12",
        [
            ("Buổi sáng", [
                "07 giờ 30: Đón tiếp đại biểu, điểm danh tại hội trường và các điểm cầu.",
                "08 giờ 00: Khai mạc hội nghị; tuyên bố lý do, giới thiệu đại biểu.",
                "08 giờ 15: Báo cáo tình hình thực hiện nhiệm vụ chính trị năm 2026; phương hướng, nhiệm vụ năm 2027.",
                "09 giờ 30: Thảo luận tại hội trường và các điểm cầu.",
            ]),
            ("Buổi chiều", [
                "13 giờ 30: Báo cáo kiểm điểm sự lãnh đạo, chỉ đạo của Ban Thường vụ Tỉnh ủy năm 2026.",
                "15 giờ 00: Tờ trình về chương trình làm việc toàn khóa.",
                "16 giờ 00: Biểu quyết thông qua Nghị quyết hội nghị; bế mạc.",
            ]),
        ],
    ),
    "du-thao-bao-cao-chinh-tri.pdf": (
        "BÁO CÁO CHÍNH TRỊ (DỰ THẢO) — TÌNH HÌNH THỰC HIỆN NHIỆM VỤ NĂM 2026",
        [
            (f"Phần {roman}. {title}", [
                f"{n}. {sentence}" for n, sentence in enumerate(body, start=1)
            ])
            for roman, title, body in (
                ("I", "Kết quả đạt được", [
                    "Tốc độ tăng trưởng kinh tế (GRDP) ước đạt 8,2%, vượt chỉ tiêu Nghị quyết đề ra.",
                    "Thu ngân sách nhà nước trên địa bàn đạt 112% dự toán; chi ngân sách bảo đảm đúng quy định.",
                    "Công tác chuyển đổi số được đẩy mạnh; 100% văn bản của cơ quan Đảng được gửi, nhận trên môi trường điện tử.",
                    "Quốc phòng, an ninh được giữ vững; trật tự, an toàn xã hội được bảo đảm.",
                ] * 8),
                ("II", "Hạn chế, yếu kém và nguyên nhân", [
                    "Tiến độ giải ngân vốn đầu tư công ở một số dự án còn chậm.",
                    "Công tác giải phóng mặt bằng tại một số xã, phường còn vướng mắc.",
                    "Chất lượng nguồn nhân lực chưa đáp ứng yêu cầu phát triển.",
                ] * 8),
                ("III", "Phương hướng, nhiệm vụ năm 2027", [
                    "Tiếp tục đổi mới phương thức lãnh đạo của Đảng, nâng cao năng lực cầm quyền.",
                    "Phấn đấu tăng trưởng kinh tế từ 8,5% trở lên; thu nhập bình quân đầu người tăng 10%.",
                    "Đẩy mạnh cải cách hành chính, xây dựng chính quyền số, đô thị thông minh.",
                    "Thực hiện tốt công tác đường lối đổi mới, xây dựng Đảng và hệ thống chính trị trong sạch, vững mạnh.",
                ] * 8),
            )
        ],
    ),
    "phuong-an-nhan-su.pdf": (
        "PHƯƠNG ÁN NHÂN SỰ (TÀI LIỆU MẬT — PHÁT TẠI HỘI NGHỊ, THU HỒI SAU HỘI NGHỊ)",
        [
            ("Nguyên tắc", [
                "Bảo đảm nguyên tắc tập trung dân chủ, công khai, minh bạch trong công tác cán bộ.",
                "Nhân sự được giới thiệu phải đáp ứng tiêu chuẩn chức danh theo quy định.",
            ]),
            ("Phương án", [
                "Giới thiệu 02 đồng chí để Ban Chấp hành bầu bổ sung Ủy viên Ban Thường vụ Tỉnh ủy.",
                "Giới thiệu 01 đồng chí để bầu bổ sung Ủy viên Ủy ban Kiểm tra Tỉnh ủy.",
            ]),
        ],
    ),
}


def write(name: str, title: str, sections: list[tuple[str, list[str]]]) -> None:
    doc = pymupdf.open()
    page = None
    y = 0.0

    def line(text: str, *, bold: bool = False, size: float = 11) -> None:
        nonlocal page, y
        # 475 pt between the margins; DejaVu averages about 0.68 em a character in bold.
        for part in textwrap.wrap(text, int(475 / (size * 0.68))) or [""]:
            if page is None or y > 780:
                page = doc.new_page()
                page.insert_font(fontname="r", fontfile=FONT)
                page.insert_font(fontname="b", fontfile=BOLD)
                y = 72
            page.insert_text((60, y), part, fontname="b" if bold else "r", fontsize=size)
            y += size * 1.6

    line(title, bold=True, size=14)
    y += 10
    for heading, paragraphs in sections:
        line(heading, bold=True, size=12)
        for paragraph in paragraphs:
            line(paragraph)
        y += 8
    doc.set_metadata({"title": title, "creator": "Phonghop demo"})
    doc.subset_fonts()  # the whole DejaVu font is 700 KB; the glyphs used are a few KB
    doc.save(HERE / name, garbage=4, deflate=True)


if __name__ == "__main__":
    for name, (title, sections) in DOCUMENTS.items():
        write(name, title, sections)
        print(name)
