"""Words a nurse reads on a French tablet that used to stay English or be the code's own: the
refusals she meets at the bedside (an old exam link, a stethoscope another exam holds, one
switched off), the protocols she picks from, the fields a screen reader names, and who a
doctor's request is for."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import pytest
from aiohttp import ClientResponse, FormData
from aiohttp.test_utils import TestClient

from edge_agent.exam.errors import DeviceBusyError
from edge_agent.exam.service import RecordRequest
from edge_agent.web.app import said
from edge_agent.web.context import CTX, Stethoscope
from edge_agent.web.i18n import CATALOGUES
from tests.edge_agent.exam.test_service import RATE, Harness
from tests.edge_agent.web.test_page_security import Clock, csrf_of, run, sign_in

FRENCH = {"Accept-Language": "fr"}


async def _refusal(response: ClientResponse) -> str:
    found = re.search(r'id="error-message">([^<]*)<', await response.text())
    assert found, await response.text()
    return found.group(1).replace("&#39;", "'")


def test_refusals_at_the_bedside_are_in_the_nurses_language(tmp_path: Path) -> None:
    # Before: "no exam ... on this Pi", "stethoscope steth-1 is in use by nurse-a" and
    # "stethoscope steth-2 is not connected", in English, on a French tablet.
    said: dict[str, tuple[int, str]] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        unknown = await client.get(f"/exams/{uuid.UUID(int=7, version=4)}", headers=FRENCH)
        said["unknown"] = (unknown.status, await _refusal(unknown))
        exams = []
        for _ in range(2):
            opened = await client.post("/exams", headers=FRENCH, allow_redirects=False, data={
                "csrf": token, "resident": "res-1", "protocol": "heart-4", "age_band": "adult",
                "reason": ""})  # fmt: skip
            assert opened.status == 303, await opened.text()
            exams.append(opened.headers["Location"])
        for name, exam, device in (("busy", exams[1], "steth-1"), ("off", exams[0], "steth-2")):
            if name == "busy":  # the first exam records on steth-1: the second cannot have it
                first = await client.post(f"{exams[0]}/record", headers=FRENCH, data={
                    "csrf": token, "site": "aortic", "device": "steth-1"})  # fmt: skip
                assert first.status == 200, await first.text()
            refused = await client.post(f"{exam}/record", headers=FRENCH, data={
                "csrf": token, "site": "aortic", "device": device})  # fmt: skip
            said[name] = (refused.status, await _refusal(refused))

    run(tmp_path, scenario, attached=("steth-1",), devices=("steth-1", "steth-2"))
    fr = CATALOGUES["fr"]
    assert said["unknown"] == (409, fr["refused.unknown_exam"])
    # Her own first exam holds it: that exam, by its resident's label (not "used by Marie").
    busy = fr["refused.device_own_exam"].format(device="steth-1", resident="Room 1 Mme Secret")
    assert said["busy"] == (409, busy)
    assert said["off"] == (409, fr["refused.device_off"].format(device="steth-2"))


def test_a_stethoscope_still_recording_for_her_own_exam_is_not_said_another_exam_s(
    tmp_path: Path,
) -> None:
    # Before: "... est utilisé par nurse-a pour un autre examen", to the nurse whose own exam
    # was still recording its first site on it; then "... est utilisé par Marie", Marie being
    # the nurse who reads it: her own recording is "still recording", as closing says.
    said: list[tuple[int, str]] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        opened = await client.post("/exams", headers=FRENCH, allow_redirects=False, data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "age_band": "adult",
            "reason": ""})  # fmt: skip
        exam = opened.headers["Location"]
        for site in ("aortic", "pulmonic"):
            answer = await client.post(f"{exam}/record", headers=FRENCH, data={
                "csrf": token, "site": site, "device": "steth-1"})  # fmt: skip
            said.append((answer.status, await _refusal(answer) if answer.status != 200 else ""))

    run(tmp_path, scenario, attached=("steth-1",))
    fr = CATALOGUES["fr"]
    assert said[0][0] == 200
    assert said[1] == (409, fr["refused.still_recording"])
    assert "autre examen" not in said[1][1] and "Marie" not in said[1][1]


def test_a_holder_without_a_name_is_not_said_in_english_on_a_french_page(tmp_path: Path) -> None:
    # Before: "Le stéthoscope steth-1 est utilisé par another exam pour un autre examen".
    async def main() -> list[str]:
        s = Harness(tmp_path).service
        s.attach("steth-1", RATE)
        first = await s.open_exam("res-1", "", "", "heart-4")  # the local API takes "" as given
        second = await s.open_exam("res-1", "nurse-b", "", "heart-4")
        await s.record(first.exam_id, "aortic", "steth-1", "", 1.0)
        out = []
        for exam_id in (first.exam_id, second.exam_id):  # the recording's holder, the exam's
            with pytest.raises(DeviceBusyError) as refused:
                await s.record(exam_id, "pulmonic", "steth-1", "nurse-b")
            out.append(said(refused.value, "fr"))
        s.store.close()
        return out

    texts = asyncio.run(main())
    assert texts == [CATALOGUES["fr"]["refused.device_in_use"].format(device="steth-1")] * 2
    assert not any("another" in text for text in texts)


def test_protocols_are_named_in_words_a_nurse_reads(tmp_path: Path) -> None:
    # Before: the radio buttons said "heart-4", "lung-anterior", "full", "custom", and the box
    # of points for a custom exam was headed "custom", in English on the French page too.
    pages: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            pages[lang] = (await (await client.get("/residents/res-1")).text()).replace(
                "&#39;", "'"
            )

    run(tmp_path, scenario)
    for lang, page in pages.items():
        words = CATALOGUES[lang]
        shown = re.findall(r'id="protocol-([a-z0-9-]+)"[^>]*> ([^<]+)</label>', page)
        assert shown == [
            ("heart-4", words["protocol.heart-4"].format(n=4)),
            ("lung-anterior", words["protocol.lung-anterior"].format(n=4)),
            ("lung-posterior", words["protocol.lung-posterior"].format(n=4)),
            ("full", words["protocol.full"].format(n=13)),
            ("custom", words["protocol.custom"]),
        ], lang
        assert f"<legend>{words['exam.custom_sites']}</legend>" in page
        assert "<legend>custom</legend>" not in page


def test_a_doctors_request_names_the_resident_as_the_nurse_knows_them(tmp_path: Path) -> None:
    # Before: "dr-house asks for mitral · res-1", the opaque code the nurse never sees elsewhere.
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exams = client.server.app[CTX].exams
        for ref in ("res-1", "res-9"):  # res-9: not (or no longer) among the residents here
            wanted = RecordRequest(uuid.uuid4(), ref, "mitral", 15.0, "dr-house", clock.now)
            exams.requests[wanted.request_id] = wanted
        page = await (await client.get("/requests")).text()
        shown = re.findall(r"<p>dr-house asks for mitral · ([^<]*)<span class=\"ref\">([^<]*)<",
                           page)  # fmt: skip
        assert shown == [("Room 1 Mme Secret ", "res-1"), ("", "res-9")]
        audit = client.server.app[CTX].accounts.audit_log()
        assert audit[0][1:] == ("nurse-a", "list-requests", "-")  # labels shown: audited

    run(tmp_path, scenario)


def test_a_doctors_request_says_how_long_to_record_in_the_page_s_language(
    tmp_path: Path,
) -> None:
    # Before: the card named the doctor, the site and the resident, not the length asked for.
    pages: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        exams = client.server.app[CTX].exams
        for seconds in (12.5, None):
            wanted = RecordRequest(uuid.uuid4(), "res-1", "mitral", seconds, "dr-house", clock.now)
            exams.requests[wanted.request_id] = wanted
        pages["en"] = await (await client.get("/requests")).text()
        pages["fr"] = await (await client.get("/requests", headers=FRENCH)).text()

    run(tmp_path, scenario)
    lasting = {lang: re.findall(r'<span class="ref">res-1</span>([^<]*)</p>', page)
               for lang, page in pages.items()}  # fmt: skip
    assert lasting == {"en": [" · for 12.5 seconds", ""], "fr": [" · pendant 12,5 secondes", ""]}


def test_a_screen_reader_names_every_field_and_picture_in_the_page_s_language(
    tmp_path: Path,
) -> None:
    # Before: the search box and the CSV file field had no name (a placeholder is not one), and
    # the live waveform and the body map were named "waveform" and "body outline" in French too.
    pages: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        await client.get("/lang/fr")
        token = await csrf_of(client, "/residents")
        pages["residents"] = await (await client.get("/residents")).text()
        opened = await client.post("/exams", data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "age_band": "adult",
            "reason": ""})  # fmt: skip
        pages["exam"] = await opened.text()

    run(tmp_path, scenario)
    fr = CATALOGUES["fr"]
    residents, exam = (pages[k].replace("&#39;", "'") for k in ("residents", "exam"))
    search, csv = (re.escape(fr[k]) for k in ("residents.search", "residents.import"))
    assert re.search(rf'<input[^>]*aria-label="{search}"[^>]*id="search"', residents)
    assert re.search(rf'<input type="file"[^>]*aria-label="{csv}"', residents)
    assert f'<canvas id="wave" role="img" aria-label="{fr["exam.waveform"]}"' in exam
    assert f'role="img" aria-label="{fr["exam.body_map"]}"' in exam


def test_accepting_a_request_that_cannot_be_is_said_in_french(tmp_path: Path) -> None:
    # Before: "no resident 'res-9' on this Pi: add or import it first" (a doctor asked for a
    # resident never imported here) and "this request was already answered" (two tablets).
    said: dict[str, tuple[int, str]] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/requests")
        exams = client.server.app[CTX].exams
        for name, ref in (("absent", "res-9"), ("answered", "res-1")):
            wanted = RecordRequest(uuid.uuid4(), ref, "mitral", None, "dr-house", clock.now)
            exams.requests[wanted.request_id] = wanted
            accept = f"/requests/{wanted.request_id}/accept"
            if name == "answered":  # another nurse's tablet accepts it first (the same nurse
                await exams.accept(wanted.request_id, "nurse-b")  # would get her exam again)
            refused = await client.post(accept, data={"csrf": token}, headers=FRENCH)
            said[name] = (refused.status, await _refusal(refused))

    run(tmp_path, scenario)
    fr = CATALOGUES["fr"]
    assert said["absent"] == (409, fr["refused.unknown_resident"].format(ref="res-9"))
    assert said["answered"] == (409, fr["refused.request_answered"])


def test_a_stethoscope_s_kind_is_said_in_words(tmp_path: Path) -> None:
    # Before: "simulated", "ble", "usb" or "file" (the config's values) under each name.
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        await client.get("/lang/fr")
        row = Stethoscope("steth-1", "simulated", connected=True, battery_percent=80,
                          monitoring=False)  # fmt: skip
        client.server.app[CTX].stethoscopes = lambda: [row]
        page = await (await client.get("/stethoscopes")).text()
        kinds = re.findall(r'<strong>steth-1</strong><br><span class="ref">([^<]*)<', page)
        assert kinds == [CATALOGUES["fr"]["steth.kind.simulated"]]

    run(tmp_path, scenario)


def test_each_page_has_a_title_of_its_own(tmp_path: Path) -> None:
    # Before: every page was titled "Examens au stéthoscope", all a screen reader says on
    # arriving and all a tab shows (WCAG 2.4.2). The resident page names no resident.
    titles: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        await client.get("/lang/fr")
        titles["/login"] = await (await client.get("/login")).text()
        assert await sign_in(client) == 303
        for path in ("/residents", "/residents/res-1", "/requests", "/stethoscopes", "/x"):
            titles[path] = await (await client.get(path)).text()

    run(tmp_path, scenario)
    fr = CATALOGUES["fr"]
    keys = {"/login": "signin.title", "/residents": "residents.title",
            "/residents/res-1": "exam.start_title", "/requests": "requests.title",
            "/stethoscopes": "steth.title", "/x": "error.title"}  # fmt: skip
    for path, key in keys.items():
        found = re.search(r"<title>([^<]*)</title>", titles[path])
        assert found and found.group(1) == f"{fr[key]} · {fr['app.title']}", (path, found)


def test_a_resident_s_recent_exams_say_when(tmp_path: Path) -> None:
    # Before: "heart-4 · terminé · nurse-a" for each, so two exams of a day looked the same.
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        await client.post("/exams", data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "age_band": "adult",
            "reason": ""})  # fmt: skip
        (exam,) = client.server.app[CTX].exams.exams.values()
        page = await (await client.get("/residents/res-1")).text()
        tiles = re.findall(r'<a class="tile" href="/exams/[^"]+">([^<]*)</a>', page)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(exam.opened_at))
        assert tiles == [f"{when} · Heart (4 points) · open · nurse-a"]

    run(tmp_path, scenario)


def test_a_csv_file_a_french_spreadsheet_saved_is_refused_with_how_to_fix_it(
    tmp_path: Path,
) -> None:
    # Before: "the file is not UTF-8 text", in English, for what a French spreadsheet saves as
    # plain "CSV" (Windows-1252): the IT contact was not told what to do.
    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        await client.get("/lang/fr")
        token = await csrf_of(client, "/residents")
        latin = "ref,label\nres-2,Chambre 2 · Mme É.\n".encode("cp1252")
        form = FormData({"csrf": token})
        form.add_field("file", latin, filename="residents.csv", content_type="text/csv")
        refused = await client.post("/residents/import", data=form)
        problems = re.findall(r'<ul class="alert" id="problems"><li>([^<]*)</li>', await
                              refused.text())  # fmt: skip
        assert refused.status == 400
        assert [p.replace("&#39;", "'") for p in problems] == [
            CATALOGUES["fr"]["residents.not_utf8"]
        ]

    run(tmp_path, scenario)


def test_a_refused_csv_names_each_line_s_problem_in_the_nurses_language(tmp_path: Path) -> None:
    # Before: every line's problem in English on the French page ("line 3: the label is empty").
    csv = "ref,label\nRes 1,Chambre 1\nres-2,\nres-3,Chambre 3\nres-3,Encore\nres-4,a,b\n"
    shown: dict[str, list[str]] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        for lang in ("fr", "en"):
            await client.get(f"/lang/{lang}")
            token = await csrf_of(client, "/residents")
            form = FormData({"csrf": token})
            form.add_field("file", csv.encode(), filename="r.csv", content_type="text/csv")
            refused = await client.post("/residents/import", data=form)
            assert refused.status == 400
            items = re.findall(
                r"<li>([^<]*)</li>", (await refused.text()).split('id="problems"')[1]
            )
            shown[lang] = [p.replace("&#39;", "'") for p in items[:4]]

    run(tmp_path, scenario)
    fr = CATALOGUES["fr"]
    assert shown["fr"] == [fr["refused.csv_ref"].format(line=2),
                           fr["refused.csv_no_label"].format(line=3),
                           fr["refused.csv_repeat"].format(line=5, first=4),
                           fr["refused.csv_fields"].format(line=6, found=3)]  # fmt: skip
    assert shown["en"] == [  # was the code's English: "line 6: expected 2 fields ..., found 3"
        "Line 2: the reference must be 1 to 63 lower-case letters, digits and dashes.",
        "Line 3: the label is empty.", "Line 5: this reference is already on line 4.",
        "Line 6: 2 fields are needed (ref,label), this line has 3."]  # fmt: skip


def test_finishing_an_exam_with_nothing_recorded_is_refused_in_the_nurses_language(
    tmp_path: Path,
) -> None:
    said: list[tuple[int, str]] = []

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        opened = await client.post("/exams", headers=FRENCH, allow_redirects=False, data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "age_band": "adult",
            "reason": ""})  # fmt: skip
        closed = await client.post(f"{opened.headers['Location']}/close", headers=FRENCH,
                                   data={"csrf": token})  # fmt: skip
        said.append((closed.status, await _refusal(closed)))
        custom = await client.post("/exams", headers=FRENCH, data={
            "csrf": token, "resident": "res-1", "protocol": "custom", "age_band": "adult",
            "reason": ""})  # fmt: skip
        said.append((custom.status, await _refusal(custom)))

    run(tmp_path, scenario)
    fr = CATALOGUES["fr"]
    assert said == [(409, fr["refused.nothing_recorded"]), (409, fr["refused.no_site"])]


def test_the_summary_counts_each_site_s_recordings_in_words_not_with_a_plural_s(
    tmp_path: Path,
) -> None:
    # Before: "0 enregistrement(s)", "1 recording(s)" on every row of the summary.
    from tests.edge_agent.exam.test_service_edges import _captured

    shown: dict[str, list[str]] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        opened = await client.post("/exams", allow_redirects=False, data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "reason": ""})  # fmt: skip
        exam = opened.headers["Location"]
        started = await client.post(f"{exam}/record", data={
            "csrf": token, "site": "aortic", "device": "steth-1"})  # fmt: skip
        assert started.status == 200, await started.text()
        service = client.server.app[CTX].exams
        for done in _captured(service, "steth-1", 25.0):
            await service.recorded(done)
        for lang in ("en", "fr"):
            await client.get(f"/lang/{lang}")
            page = await (await client.get(exam)).text()
            shown[lang] = re.findall(r'<td class="attempts">([^<]*)</td>', page)

    run(tmp_path, scenario, attached=("steth-1",))
    assert shown["en"] == ["1 recording"] + ["no recording"] * 3
    assert shown["fr"] == ["1 enregistrement"] + ["aucun enregistrement"] * 3
    assert all("(s)" not in CATALOGUES[lang]["exam.attempts"] for lang in ("en", "fr"))
    assert CATALOGUES["fr"]["exam.attempts"].format(n=2) == "2 enregistrements"


def test_a_battery_s_percent_never_wraps_away_from_its_number(tmp_path: Path) -> None:
    # Before: "Batterie : 69" on one line and "%" on the next, on a tablet held upright.
    pages: dict[str, str] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        row = Stethoscope("steth-1", "simulated", True, 69, False)
        client.server.app[CTX].stethoscopes = lambda: [row]
        assert await sign_in(client) == 303
        await client.get("/lang/fr")
        pages["list"] = await (await client.get("/stethoscopes")).text()
        token = await csrf_of(client, "/residents")
        opened = await client.post("/exams", allow_redirects=False, data={
            "csrf": token, "resident": "res-1", "protocol": "heart-4", "reason": ""})  # fmt: skip
        pages["exam"] = await (await client.get(opened.headers["Location"])).text()

    run(tmp_path, scenario)
    assert "Batterie\u00a0: 69&nbsp;%</td>" in pages["list"]
    assert ">steth-1 · 69&nbsp;%</option>" in pages["exam"]
