"""Who sees which care home, read straight from storage: every read filtered by the reader's
sites in SQL, the audit log's rows, the doctors' accounts and the console's sessions.

The console's HTTP tests (test_console.py, test_console_exam.py) show the same through the
pages; these pin each read's filter and each row's fields, fast enough for `make mutate`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.wire import messages, topics
from stetho_hub import wire
from stetho_hub.console.sessions import ANONYMOUS_S, MAX_SESSIONS, SessionBook
from stetho_hub.errors import UserError
from stetho_hub.storage import (
    Archive,
    AudioStore,
    Database,
    DatabaseTarget,
    exam_views,
    iso,
    migrate,
    open_database,
    views,
)
from stetho_hub.storage.users import (
    add_user,
    check_new_user,
    check_sign_in,
    hash_password,
    verify_password,
)
from stetho_testkit.hub.console import store_exam
from stetho_testkit.hub.factory import WireRecording, make_recording

PASSWORD = "correct horse battery"
DAY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
EXAM_A, EXAM_B = (str(uuid.UUID(int=n, version=4)) for n in (201, 202))


@dataclass(frozen=True)
class Homes:
    db: Database
    a1: WireRecording  # home-a, res-1, analysed, with an urgent alert
    a2: WireRecording  # home-a, res-1, an hour later, no analysis, a review alert
    a3: WireRecording  # home-a, another resident
    a4: WireRecording  # home-a, res-1, metadata only (no audio yet)
    b1: WireRecording  # home-b, res-1 too (another care home's resident of that name)
    exam_a: list[WireRecording]
    exam_b: list[WireRecording]


def _alert(rec: WireRecording, level: str, received: str | None = None) -> wire.AlertItem:
    alert = messages.AlertMessage(
        alert_id=uuid.uuid4(), recording_id=uuid.UUID(rec.recording_id), site=rec.site,
        agent="pi", device=rec.device, resident=rec.meta.resident,
        auscultation_site=rec.meta.auscultation_site, kind=rec.meta.kind,
        recorded_at=rec.meta.started_at, level=level,  # type: ignore[arg-type]
        flags=[messages.Flag(code="tachycardia", reason="Heart rate 131/min is above 130.",
                             value=131.0, threshold=130.0)],
        audio_topic=rec.audio_topic, recording_topic=topics.recording(rec.site, rec.device),
        age_band="5_to_12" if level == "review" else None,
    )  # fmt: skip
    return wire.AlertItem(alert, messages.to_json(alert))


def _status(site: str, agent: str) -> wire.StatusItem:
    raw = (
        f'{{"schema":"stetho.status","schema_version":1,"state":"online","site":"{site}",'
        f'"agent":"{agent}","at":"2026-12-01T10:00:00Z","detail":{{"alarm":"{site} alarm"}}}}'
    ).encode()
    item = wire.classify(f"stetho/v1/{site}/{agent}/status", raw)
    assert isinstance(item, wire.StatusItem)
    return item


def _store(archive: Archive, rec: WireRecording, audio: bool = True) -> None:
    archive.store(wire.RecordingMeta(rec.meta, rec.meta_json))
    if audio:
        archive.store(wire.RecordingAudio(rec.recording_id, rec.site, rec.device, rec.flac))


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homes]:
    """Two care homes, built once for the module (the reads below never write)."""
    tmp = tmp_path_factory.mktemp("homes")
    db = open_database(DatabaseTarget("sqlite", str(tmp / "hub.db")), migrating=True)
    migrate(db)
    archive = Archive(db, AudioStore(tmp / "audio"))
    a1 = make_recording(1, site="home-a", seconds=2.0, analysed=True, start=DAY)
    a2 = make_recording(8, site="home-a", start=DAY + timedelta(hours=1))
    a3 = make_recording(2, site="home-a", device="steth-c", start=DAY + timedelta(hours=2))
    a4 = make_recording(15, site="home-a", start=DAY - timedelta(hours=1))
    b1 = make_recording(22, site="home-b", device="steth-b", start=DAY + timedelta(hours=3))
    for rec in (a1, a2, a3, b1):
        _store(archive, rec)
    _store(archive, a4, audio=False)
    archive.store(_alert(a1, "urgent"))
    archive.store(_alert(a2, "review"))
    archive.store(_alert(b1, "urgent"))
    archive.store(_status("home-a", "pi-a"))
    archive.store(_status("home-b", "pi-b"))
    archive.store(wire.classify("stetho/v1/home-b/steth-b/status", STETH_B_ONLINE))
    exam_a = store_exam(archive, EXAM_A, "home-a", DAY, (80, 82), 99)
    exam_b = store_exam(archive, EXAM_B, "home-b", DAY, (70,), 295)
    archive.store(_alert(exam_a[1], "urgent"))
    archive.store(_alert(exam_b[0], "urgent"))
    try:
        yield Homes(db, a1, a2, a3, a4, b1, exam_a, exam_b)
    finally:
        db.close()


# A stethoscope's status with no `detail` at all.
STETH_B_ONLINE = (
    b'{"schema":"stetho.status","schema_version":1,"state":"online","site":"home-b",'
    b'"agent":"pi-b","device":"steth-b","at":"2026-12-01T10:00:00Z"}'
)
ALL_SITES = (None, ("home-a", "home-b"))  # an administrator, a doctor of both homes


# ---- the inbox and its newest alert --------------------------------------------------------


def test_the_inbox_holds_only_the_readers_care_homes(homes: Homes) -> None:
    mine = views.inbox(homes.db, ("home-a",))
    assert {row.site for row in mine} == {"home-a"} and len(mine) == 3
    theirs = views.inbox(homes.db, ("home-b",))
    assert {row.site for row in theirs} == {"home-b"} and len(theirs) == 2
    for sites in ALL_SITES:
        assert len(views.inbox(homes.db, sites)) == 5
    assert views.inbox(homes.db, ()) == []  # a doctor with no care home sees nothing
    assert views.inbox(homes.db, ("home-c",)) == []


def test_the_inbox_is_most_urgent_first_then_newest_with_each_rows_fields(homes: Homes) -> None:
    rows = views.inbox(homes.db, ("home-a",))
    assert [r.level for r in rows] == ["urgent", "urgent", "review"]
    counted = homes.exam_a[1]
    assert [r.recording_id for r in rows] == [
        counted.recording_id, homes.a1.recording_id, homes.a2.recording_id,
    ]  # fmt: skip
    first, second, review = rows
    assert first.exam_id == EXAM_A and second.exam_id is None
    assert second.recorded_at == iso(homes.a1.meta.started_at)
    assert second.resident == "res-1" and second.auscultation_site == "mitral"
    assert second.archived and second.age_band is None
    assert second.flags[0]["code"] == "tachycardia" and len(second.flags) == 1
    assert review.age_band == "5_to_12" and review.level == "review"
    uuid.UUID(second.alert_id)
    assert [r.recording_id for r in views.inbox(homes.db, ("home-a",), limit=1)] == [
        counted.recording_id
    ]


def test_a_recording_without_its_audio_is_shown_as_not_archived(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        rec = make_recording(3, site="home-a")
        _store(archive, rec, audio=False)
        archive.store(_alert(rec, "urgent"))
        (row,) = views.inbox(db, ("home-a",))
        assert not row.archived and row.recording_id == rec.recording_id
    finally:
        db.close()


def test_the_inbox_shows_at_most_two_hundred_alerts(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        rec = make_recording(3, site="home-a", seconds=0.05)
        for _ in range(201):
            archive.store(_alert(rec, "urgent"))
        assert len(views.inbox(db, None)) == 200
    finally:
        db.close()


def test_the_newest_alert_is_the_readers_care_homes_own(homes: Homes) -> None:
    with homes.db.transaction() as tx:
        by_site = dict(tx.all("SELECT site, MAX(received_at) FROM alerts GROUP BY site"))
    assert views.newest_alert_at(homes.db, ("home-a",)) == by_site["home-a"]
    assert views.newest_alert_at(homes.db, ("home-b",)) == by_site["home-b"]
    for sites in ALL_SITES:
        assert views.newest_alert_at(homes.db, sites) == max(by_site.values())
    assert views.newest_alert_at(homes.db, ()) is None
    assert views.newest_alert_at(homes.db, ("home-c",)) is None


# ---- one recording, and the resident's others ---------------------------------------------


def test_a_recording_is_found_only_by_a_reader_of_its_care_home(homes: Homes) -> None:
    rid = homes.a1.recording_id
    view = views.recording(homes.db, rid, ("home-a",))
    assert view is not None and view.site == "home-a" and view.recording_id == rid
    assert view.metadata["resident"] == "res-1" and view.audio_sha256
    assert views.recording(homes.db, rid, ("home-b",)) is None
    assert views.recording(homes.db, rid, ()) is None
    for sites in ALL_SITES:
        assert views.recording(homes.db, rid, sites) is not None
    assert views.recording(homes.db, str(uuid.uuid4()), None) is None
    waiting = views.recording(homes.db, homes.a4.recording_id, ("home-a",))
    assert waiting is not None and waiting.audio_sha256 is None


def test_the_residents_other_recordings_stay_in_the_care_home(homes: Homes) -> None:
    view = views.recording(homes.db, homes.a1.recording_id, ("home-a",))
    assert view is not None
    earlier = views.same_resident(homes.db, view)
    res_1_at_a = [homes.a2, homes.a4, *homes.exam_a]
    assert {e.recording_id for e in earlier} == {r.recording_id for r in res_1_at_a}
    assert [e.started_at for e in earlier] == sorted((e.started_at for e in earlier), reverse=True)
    newest = earlier[0]  # a2: an hour after a1
    assert newest.recording_id == homes.a2.recording_id
    assert newest.started_at == iso(homes.a2.meta.started_at)
    assert newest.auscultation_site == "mitral" and newest.triage_level is None
    analysed = next(e for e in earlier if e.recording_id == homes.exam_a[0].recording_id)
    assert analysed.auscultation_site == "aortic"
    assert analysed.triage_level == homes.exam_a[0].meta.analysis.triage.level  # type: ignore[union-attr]
    assert [e.recording_id for e in views.same_resident(homes.db, view, limit=1)] == [
        homes.a2.recording_id
    ]
    other = views.recording(homes.db, homes.b1.recording_id, None)
    assert other is not None and views.same_resident(homes.db, other) == [
        views.EarlierRow(r.recording_id, iso(r.meta.started_at), r.meta.auscultation_site,
                         r.meta.analysis.triage.level if r.meta.analysis else None)
        for r in sorted(homes.exam_b, key=lambda r: r.meta.started_at, reverse=True)
    ]  # fmt: skip


def test_the_residents_other_recordings_are_at_most_fifty(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        for n in range(52):  # seeds 1, 8, 15, ...: all res-1
            rec = make_recording(1 + 7 * n, site="home-a", seconds=0.05)
            archive.store(wire.RecordingMeta(rec.meta, rec.meta_json))
        view = views.recording(db, make_recording(1, site="home-a").recording_id, None)
        assert view is not None and len(views.same_resident(db, view)) == 50
    finally:
        db.close()


# ---- the care homes page --------------------------------------------------------------------


def test_the_care_homes_page_lists_only_the_readers_homes(homes: Homes) -> None:
    (a,) = views.homes(homes.db, ("home-a",))
    assert a.site == "home-a"
    assert [(s, st, d) for s, st, _at, d in a.sources] == [
        ("pi-a", "online", {"alarm": "home-a alarm"})
    ]
    assert a.archived == 3 + len(homes.exam_a) and a.waiting_for_audio == 1
    assert a.newest_recording == iso(homes.a3.meta.started_at)
    (b,) = views.homes(homes.db, ("home-b",))
    assert b.site == "home-b"
    assert [(s, d) for s, _st, _at, d in b.sources] == [
        ("pi-b", {"alarm": "home-b alarm"}),
        ("steth-b", {}),
    ]
    assert b.archived == 1 + len(homes.exam_b) and b.waiting_for_audio == 0
    for sites in ALL_SITES:
        assert [h.site for h in views.homes(homes.db, sites)] == ["home-a", "home-b"]
    assert views.homes(homes.db, ()) == []


# ---- exams ----------------------------------------------------------------------------------


def test_an_exam_is_found_only_by_a_reader_of_its_care_home(homes: Homes) -> None:
    found = exam_views.exam(homes.db, EXAM_A, ("home-a",))
    assert found is not None and found.site == "home-a" and found.exam_id == EXAM_A
    assert found.resident == "res-1" and found.exam["protocol"] == "heart-4"
    assert list(found.recordings) == [r.recording_id for r in homes.exam_a]
    first = found.recordings[homes.exam_a[0].recording_id]
    assert first.site == "home-a" and first.audio_sha256 and first.metadata["exam_id"] == EXAM_A
    assert exam_views.exam(homes.db, EXAM_A, ("home-b",)) is None
    assert exam_views.exam(homes.db, EXAM_A, ()) is None
    for sites in ALL_SITES:
        assert exam_views.exam(homes.db, EXAM_B, sites) is not None
    assert exam_views.exam(homes.db, str(uuid.uuid4()), None) is None


def test_a_residents_exams_are_those_of_one_care_home(homes: Homes) -> None:
    (at_a,) = exam_views.resident_exams(homes.db, "home-a", "res-1")
    assert at_a.exam_id == EXAM_A and at_a.exam["site"] == "home-a"
    counted = [r for r in homes.exam_a if r.recording_id != homes.exam_a[0].recording_id]
    assert [rid for rid, _a in at_a.analyses] == [r.recording_id for r in counted]
    assert all(a["triage"]["level"] for _rid, a in at_a.analyses)
    (at_b,) = exam_views.resident_exams(homes.db, "home-b", "res-1")
    assert at_b.exam_id == EXAM_B
    assert exam_views.resident_exams(homes.db, "home-a", "res-2") == []


def _exam(exam_id: str, opened: datetime, counted: str) -> bytes:
    site = messages.ExamSite(
        auscultation_site="mitral", state="done", recording_ids=[uuid.UUID(counted)],
        counted_recording_id=uuid.UUID(counted), level=None,
    )  # fmt: skip
    exam = messages.ExamMessage(
        exam_id=uuid.UUID(exam_id), event="opened", state="open", site="home-a", agent="pi-a",
        resident="res-1", staff="nurse-1", reason="follow-up", protocol="heart-4",
        age_band="adult", sites=[site], opened_at=opened, closed_at=None, at=opened,
    )  # fmt: skip
    return messages.to_json(exam)


def test_a_residents_exams_are_the_newest_fifty_oldest_first(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        # Ids fall as the exams get newer, and the newest is stored first: neither the
        # table's order nor the ids' is the exams' own.
        ids = [str(uuid.UUID(int=2000 - n, version=4)) for n in range(52)]
        for n in reversed(range(52)):
            rec = make_recording(1 + 7 * n, site="home-a", seconds=0.05, exam_id=ids[n])
            opened = DAY + timedelta(days=n)
            archive.store(
                wire.classify(topics.exams("home-a"), _exam(ids[n], opened, rec.recording_id))
            )
            _store(archive, rec, audio=False)  # counted, but not analysed: nothing to show
        found = exam_views.resident_exams(db, "home-a", "res-1")
        assert [e.exam_id for e in found] == ids[2:]
        assert all(e.analyses == () for e in found)
        last_three = exam_views.resident_exams(db, "home-a", "res-1", 3)
        assert [e.exam_id for e in last_three] == ids[-3:]
    finally:
        db.close()


def test_a_live_listen_asks_only_a_stethoscope_the_care_home_has_used(homes: Homes) -> None:
    assert exam_views.known_device(homes.db, "home-a", "steth-c")  # from a recording
    assert exam_views.known_device(homes.db, "home-b", "steth-b")
    assert not exam_views.known_device(homes.db, "home-a", "steth-b")  # home-b's
    assert not exam_views.known_device(homes.db, "home-b", "steth-c")
    assert not exam_views.known_device(homes.db, "home-a", "steth-z")


def test_a_known_device_may_come_from_its_status_alone(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        archive = Archive(db, AudioStore(tmp_path / "audio"))
        raw = (
            b'{"schema":"stetho.status","schema_version":1,"state":"online","site":"home-a",'
            b'"agent":"pi-a","device":"steth-s","at":"2026-12-01T10:00:00Z"}'
        )
        archive.store(wire.classify("stetho/v1/home-a/steth-s/status", raw))
        assert exam_views.known_device(db, "home-a", "steth-s")
        assert not exam_views.known_device(db, "home-b", "steth-s")
    finally:
        db.close()


def test_a_decision_acks_only_its_own_alerts(homes: Homes) -> None:
    with homes.db.transaction() as tx:
        rows = tx.all("SELECT alert_id, recording_id FROM alerts")
    by_recording: dict[str, list[str]] = {}
    for alert_id, rid in rows:
        by_recording.setdefault(str(rid), []).append(str(alert_id))
    assert views.alert_ids(homes.db, homes.a1.recording_id) == by_recording[homes.a1.recording_id]
    assert views.alert_ids(homes.db, homes.a3.recording_id) == []
    on_exam = by_recording[homes.exam_a[1].recording_id]
    assert exam_views.exam_alert_ids(homes.db, EXAM_A, "home-a") == on_exam
    assert exam_views.exam_alert_ids(homes.db, EXAM_A, "home-b") == []
    assert (
        exam_views.exam_alert_ids(homes.db, EXAM_B, "home-b")
        == by_recording[homes.exam_b[0].recording_id]
    )


def test_counted_recordings_are_one_a_site() -> None:
    doc = {"sites": [{"counted_recording_id": "r1"}, {"counted_recording_id": None}, {}]}
    assert exam_views.counted_ids(doc) == ["r1"]
    assert exam_views.counted_ids({}) == []


# ---- the audit log --------------------------------------------------------------------------


def test_each_audit_row_says_who_did_what_where_and_from_which_client(db: Database) -> None:
    views.audit(db, "dr-a", "view_recording", "home-a", "rec-1", "192.0.2.1")
    views.audit(db, "dr-a", "view_inbox", None, None, "x" * 100)
    newest, oldest = views.audit_entries(db)
    assert oldest[1:] == ("dr-a", "view_recording", "home-a", "rec-1", "192.0.2.1")
    assert newest[1:] == ("dr-a", "view_inbox", "", "", "x" * 64)
    assert datetime.fromisoformat(oldest[0]) <= datetime.fromisoformat(newest[0])
    assert datetime.fromisoformat(newest[0]).tzinfo is not None
    assert views.audit_entries(db, limit=1) == [newest]


def test_the_audit_export_holds_the_newest_ten_thousand_rows(tmp_path: Path) -> None:
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")), migrating=True)
    migrate(db)
    try:
        with db.transaction() as tx:
            for n in range(10_001):
                tx.execute(
                    "INSERT INTO audit_log (at, username, action, client) VALUES (?, ?, ?, ?)",
                    (f"2026-12-01T10:00:{n // 1000:02d}.{n % 1000:06d}+00:00", "dr-a", "x", ""),
                )
        rows = views.audit_entries(db)
        assert len(rows) == 10_000 and rows[-1][0] == "2026-12-01T10:00:00.000001+00:00"
    finally:
        db.close()


# ---- accounts -------------------------------------------------------------------------------


def test_a_doctor_signs_in_with_the_assigned_homes_sorted(db: Database) -> None:
    add_user(db, "dr-b", PASSWORD, "doctor", ("home-b", "home-a"))
    with db.transaction() as tx:
        created = tx.one("SELECT created_at FROM users WHERE username = 'dr-b'")
    assert created is not None and str(created[0]).endswith("+00:00")  # UTC, offset written
    add_user(db, "root", PASSWORD, "admin")
    assert check_sign_in(db, "dr-b", PASSWORD) == ("doctor", ("home-a", "home-b"))
    assert check_sign_in(db, "root", PASSWORD) == ("admin", ())
    assert check_sign_in(db, "dr-b", PASSWORD + "!") is None
    assert check_sign_in(db, "dr-c", PASSWORD) is None
    with pytest.raises(UserError, match="already exists"):
        add_user(db, "dr-b", PASSWORD, "doctor", ("home-c",))
    assert check_sign_in(db, "dr-b", PASSWORD) == ("doctor", ("home-a", "home-b"))


@pytest.mark.parametrize(
    ("username", "password", "role", "sites", "said"),
    [
        ("Dr-A", PASSWORD, "doctor", (), "username 'Dr-A'"),
        ("-dr", PASSWORD, "doctor", (), "username"),
        ("d" * 65, PASSWORD, "doctor", (), "username"),
        ("dr-a", PASSWORD, "nurse", (), "role 'nurse': expected one of doctor, admin"),
        ("dr-a", "x" * 11, "doctor", (), "at least 12 characters"),
        ("dr-a", PASSWORD, "doctor", ("home-a", "Home B"), "site 'Home B'"),
        ("dr-a", PASSWORD, "doctor", ("-home",), "site"),
        ("dr-a", PASSWORD, "doctor", ("h" * 64,), "site"),
    ],
)
def test_an_account_is_refused_with_its_reason(
    db: Database, username: str, password: str, role: str, sites: tuple[str, ...], said: str
) -> None:
    with pytest.raises(UserError, match=said.replace("(", r"\(")):
        add_user(db, username, password, role, sites)
    assert check_sign_in(db, username, password) is None


def test_a_name_or_site_refused_is_told_the_whole_rule() -> None:
    # Checked before any password is asked for (`stetho hub user add`), so the rule is all
    # the person learns: said in full.
    with pytest.raises(UserError) as name:
        check_new_user("Dr-A", "doctor", ())
    assert str(name.value) == (
        "username 'Dr-A': expected lowercase letters, digits, . _ - (1 to 64, the first a "
        "letter or digit)"
    )
    with pytest.raises(UserError) as site:
        check_new_user("dr-a", "doctor", ("home-a", "Home B"))
    assert str(site.value) == (
        "site 'Home B': expected a care home's id: 1 to 63 lower-case letters, digits and "
        "dashes, the first a letter or digit"
    )
    check_new_user("dr-a", "admin", ("home-a",))  # no password needed to pass


def test_the_longest_names_are_accepted(db: Database) -> None:
    add_user(db, "d" * 64, "x" * 12, "doctor", ("h" * 63, "0-home"))
    assert check_sign_in(db, "d" * 64, "x" * 12) == ("doctor", ("0-home", "h" * 63))


def test_a_stored_password_is_salted_scrypt_and_checked_whole() -> None:
    stored = hash_password(PASSWORD)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**15), "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 64
    assert stored != hash_password(PASSWORD)  # a fresh salt each time
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD[:-1], stored)
    assert not verify_password(PASSWORD, stored.replace("scrypt$", "bcrypt$", 1))
    assert not verify_password(PASSWORD, "scrypt$nope")
    assert not verify_password(PASSWORD, f"scrypt$x$8$1${salt}${digest}")
    assert not verify_password(PASSWORD, f"scrypt${n}$8$1$zz${digest}")


def _scrypt_hash(password: str, n: int) -> str:
    salt = b"s" * 16
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, maxmem=2**30)
    return f"scrypt${n}$8$1${salt.hex()}${digest.hex()}"


def test_a_hash_made_after_raising_the_cost_to_owasps_figure_still_signs_in() -> None:
    # Before: the check's 128 MiB limit refused n=2**17 (128 MiB and 3 KiB): a console whose
    # cost was raised as the comment on _N invites would have signed nobody in.
    assert verify_password(PASSWORD, _scrypt_hash(PASSWORD, 2**17))
    # A stored cost past that is refused before any memory is taken.
    stored = f"scrypt${2**18}$8$1${'73' * 16}${'00' * 64}"
    assert not verify_password(PASSWORD, stored)


# ---- the console's sessions ------------------------------------------------------------------


def test_a_session_ends_at_its_expiry_and_on_sign_out() -> None:
    book = SessionBook(lifetime_s=100.0)
    s = book.new(1000.0, "dr-a", "doctor", ("home-a",))
    assert (s.username, s.role, s.sites, s.expires) == ("dr-a", "doctor", ("home-a",), 1100.0)
    assert s.token != s.csrf and len(s.token) == len(s.csrf) == 43  # 32 random bytes each
    assert book.get(s.token, 1099.9) is s
    assert book.get(s.token, 1100.0) is None  # expired at its expiry, not a moment after
    assert book.get(s.token, 1000.0) is None  # and forgotten
    t = book.new(1000.0, "dr-a")
    book.end(t.token)
    assert book.get(t.token, 1000.0) is None
    book.end("never-issued")  # nothing to end: no error
    assert book.get(None, 1000.0) is None and book.get("", 1000.0) is None


def test_a_sign_in_forms_session_lasts_an_hour_and_is_never_signed_in() -> None:
    book = SessionBook(lifetime_s=8 * 3600.0)
    anonymous = book.new(0.0)
    assert anonymous.expires == ANONYMOUS_S and anonymous.username is None
    assert anonymous.role == "" and anonymous.sites == ()
    admin = book.new(0.0, "root", "admin", None)
    assert admin.expires == 8 * 3600.0 and admin.sites is None
    assert book.new(0.0).token != anonymous.token  # a fresh token every time


def test_expired_sessions_are_dropped_and_the_oldest_give_way_past_the_cap() -> None:
    book = SessionBook(lifetime_s=10.0)
    old = book.new(0.0, "dr-a")
    kept = book.new(5.0, "dr-b")
    book.new(10.0, "dr-c")  # `old` expired at 10: dropped, not counted
    assert len(book._by_token) == 2 and book.get(kept.token, 10.0) is kept
    assert book.get(old.token, 0.0) is None  # gone even when asked with an earlier clock
    first = book.new(11.0, "dr-d")
    for _ in range(MAX_SESSIONS - 3):
        book.new(11.0, "dr-x")
    assert len(book._by_token) == MAX_SESSIONS
    assert book.get(kept.token, 11.0) is kept
    book.new(11.0, "dr-y")  # one past the cap: the oldest (kept) goes
    assert len(book._by_token) == MAX_SESSIONS
    assert book.get(kept.token, 11.0) is None and book.get(first.token, 11.0) is first
