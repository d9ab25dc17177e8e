"""The console in a real browser, against every service in its own process with realtime
on its own origin (as `make cluster` runs them): what a user does, checked as they would."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from leadflow.auth import issue_access_token, verify_access_token
from leadflow.service import SERVICE_NAMES
from leadflow.testing.fake_groq import FakeGroq
from leadflow.testing.fixtures import TEST_ADMIN, TEST_JWT_SECRET
from leadflow.testing.processes import Cluster, running_cluster
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from tests.system.browser import chromium, wait_for

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def system(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Realtime first, so the gateway can tell the console where it is. A fake Groq hears
    voice notes (a note's bytes are its words); its other answers are empty, so the
    classification and Lívia follow their rules."""
    with FakeGroq() as groq:
        env = {
            **module_cluster_env,
            "CONSOLE_ORIGINS": "*",
            "LIVIA_DEBOUNCE_MS": "0",
            "GROQ_API_KEY": "test-key",
            "GROQ_BASE_URL": groq.base_url,
        }
        yield from cluster_with_realtime_first(env)


def cluster_with_realtime_first(env: dict[str, str]) -> Iterator[Cluster]:
    order = ("realtime", *(name for name in SERVICE_NAMES if name != "realtime"))
    with running_cluster(env, ("realtime",)) as cluster:
        cluster.env["REALTIME_PUBLIC_URL"] = cluster.realtime
        for name in order[1:]:
            cluster.start(name)
        cluster.wait_ready(timeout=240)  # seven Pythons starting at once on a shared box
        yield cluster


@pytest.fixture(scope="module")
def admin(system: Cluster) -> Iterator[httpx.Client]:
    """The API as the admin, for what a test sets up and checks behind the browser."""
    with httpx.Client(base_url=system.gateway, timeout=15) as client:
        response = client.post(
            "/api/auth/login", json={"email": TEST_ADMIN[0], "password": TEST_ADMIN[1]}
        )
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        yield client


@pytest.fixture(scope="module")
def driver(system: Cluster) -> Iterator[WebDriver]:
    """One browser for the module, logged in once through the login form."""
    browser = chromium()
    try:
        browser.get(system.gateway + "/")
        log_in(browser, *TEST_ADMIN)
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def own_browser() -> Iterator[WebDriver]:
    """A browser of the test's own, for what would disturb the module's one (scripts run
    before every page, addresses blocked)."""
    browser = chromium()
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def consultant(admin: httpx.Client) -> Iterator[dict[str, Any]]:
    """A consultant of the test's own; inactive afterwards, so that later tests' leads are
    not assigned to them."""
    email = f"rui-{uuid.uuid4().hex[:8]}@example.com"
    created = admin.post(
        "/api/consultants", json={"name": "Rui", "email": email, "password": "password-123"}
    )
    assert created.status_code == 201, created.text
    yield {**created.json()["data"], "password": "password-123"}
    admin.patch(f"/api/consultants/{created.json()['data']['id']}", json={"active": False})


@pytest.fixture
def consultants_page(
    driver: WebDriver, system: Cluster, consultant: dict[str, Any]
) -> Iterator[WebDriver]:
    """The module's browser, logged in as `consultant`; as the admin again afterwards."""
    go(driver, system, "/")
    driver.find_element(By.XPATH, "//button[normalize-space()='Sair']").click()
    try:
        log_in(driver, consultant["email"], consultant["password"])
        wait_for(lambda: "Rui" in driver.find_element(By.CSS_SELECTOR, ".topbar").text, 10)
        yield driver
    finally:
        driver.execute_script("localStorage.clear(); sessionStorage.clear()")
        go(driver, system, "/")
        log_in(driver, *TEST_ADMIN)


def log_in(driver: WebDriver, email: str, password: str) -> None:
    """Through the login form, as its labels and button name it."""
    wait_for(lambda: driver.find_elements(By.XPATH, "//label[text()='E-mail']"), 20)
    driver.find_element(By.ID, label_target(driver, "E-mail")).send_keys(email)
    driver.find_element(By.ID, label_target(driver, "Senha")).send_keys(password)
    driver.find_element(By.XPATH, "//button[normalize-space()='Entrar']").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-status='NEW']"), 20)


def label_target(driver: WebDriver, text: str) -> str:
    label = driver.find_element(By.XPATH, f"//label[normalize-space()='{text}']")
    return str(label.get_attribute("for"))


def go(driver: WebDriver, system: Cluster, route: str) -> None:
    driver.get(f"{system.gateway}/#{route}")
    driver.refresh()  # a hash change alone keeps the page; a user opening a link loads it


def new_phone() -> str:
    return "+55119" + str(uuid.uuid4().int)[:8]


def create_lead(admin: httpx.Client, name: str) -> dict[str, Any]:
    response = admin.post("/api/leads", json={"name": name, "phone": new_phone()})
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()["data"]
    return lead


def card(driver: WebDriver, lead_id: str, status: str | None = None) -> WebElement | None:
    column = f"[data-status='{status}'] " if status else ""
    found = driver.find_elements(By.CSS_SELECTOR, f"{column}[data-lead-id='{lead_id}']")
    return found[0] if found else None


def classified(admin: httpx.Client, lead_id: str) -> dict[str, Any]:
    """The lead once the AI has classified it (which bumps its version)."""

    def current() -> dict[str, Any] | None:
        lead: dict[str, Any] = admin.get(f"/api/leads/{lead_id}").json()["data"]
        return lead if lead["temperature"] else None

    return wait_for(current, 15, "the classification")


def live(driver: WebDriver) -> bool:
    return "Ao vivo" in driver.find_element(By.CSS_SELECTOR, ".live").text


def test_the_board_has_one_column_per_status(driver: WebDriver) -> None:
    columns = driver.find_elements(By.CSS_SELECTOR, "section[data-status]")
    assert [c.get_attribute("data-status") for c in columns] == [
        "NEW", "QUALIFYING", "QUALIFIED", "CONTACTED", "PROPOSAL", "WON", "LOST",
    ]  # fmt: skip
    assert "Novo" in columns[0].text and "Contatado" in columns[3].text


def test_the_dashboard_page_shows_the_figures_of_each_owner(
    driver: WebDriver, system: Cluster, admin: httpx.Client, consultant: dict[str, Any]
) -> None:
    """The funnel (leads), a row per consultant (assignment), Lívia's rate (wa-livia)."""

    def has_row() -> bool:
        rows = admin.get("/api/dashboard").json()["data"]["consultants"]
        return any(row["id"] == consultant["id"] for row in rows)

    wait_for(has_row, 15, "the new consultant's row in assignment's figures")
    go(driver, system, "/painel")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".dashboard .kpis"), 20, "the page")
    page = driver.find_element(By.CSS_SELECTOR, ".dashboard").text
    assert "Funil por status" in page and "Por consultor" in page
    assert "Rui" in driver.find_element(By.CSS_SELECTOR, "table.per-consultant").text
    assert re.search(r"\d+ de \d+ conversas", page) and "indisponível" not in page


def test_a_lead_created_through_the_api_appears_on_the_board_within_two_seconds(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    go(driver, system, "/")
    wait_for(lambda: live(driver), 20)
    lead = create_lead(admin, "Beatriz Navegador")
    created = time.monotonic()
    shown = wait_for(lambda: card(driver, lead["id"], "NEW"), 2.0, "the new card")
    assert time.monotonic() - created <= 2.0
    assert "Beatriz Navegador" in shown.text


def test_dragging_a_card_to_contacted_changes_the_lead_in_the_api(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    lead = create_lead(admin, "Caio Arrastado")
    go(driver, system, "/")
    # The card the user drags is the lead as it is: a drag that beats the classification
    # to the board is refused with 409 (the next test), not what this one is about.
    version = classified(admin, lead["id"])["version"]
    source = wait_for(
        lambda: driver.find_elements(
            By.CSS_SELECTOR,
            f"[data-status='NEW'] [data-lead-id='{lead['id']}'][data-version='{version}']",
        ),
        10,
        "the classified card in NEW",
    )[0]
    target = driver.find_element(By.CSS_SELECTOR, "[data-status='CONTACTED'] ul")
    (
        ActionChains(driver)
        .click_and_hold(source)
        .move_by_offset(10, 10)
        .move_to_element(target)
        .move_by_offset(0, 5)
        .release()
        .perform()
    )
    wait_for(lambda: card(driver, lead["id"], "CONTACTED"), 5, "the card in CONTACTED")

    def status_in_api() -> bool:
        return admin.get(f"/api/leads/{lead['id']}").json()["data"]["status"] == "CONTACTED"

    wait_for(status_in_api, 5, "the API to show CONTACTED")


# The board's listings, held after they were read until the test lets them through: two
# loads then answer in the order the test chooses.
HELD_LISTINGS = """
window.holdListings = false;
window.heldListings = [];
window.listingsRead = 0;
const nativeFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await nativeFetch(...args);
  if (!String(args[0]).includes("/api/leads?")) return response;
  window.listingsRead += 1;
  if (!window.holdListings) return response;
  await new Promise((release) => window.heldListings.push(release));
  return response;
};
window.releaseListings = (count) => window.heldListings.splice(0, count).forEach((r) => r());
"""


def test_a_board_load_answered_late_never_puts_back_what_a_later_one_showed(
    own_browser: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    """Two loads overlap (a filter changed while the first was out): the first one's
    answer, read before the lead moved, arrives last and must not move it back."""
    browser = own_browser
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HELD_LISTINGS})
    lead = create_lead(admin, "Helena Atrasada")
    version = classified(admin, lead["id"])["version"]
    browser.get(system.gateway + "/")
    log_in(browser, *TEST_ADMIN)
    # Settled: the board's first load and the one it makes once its socket joined the
    # rooms (seven columns each) have answered, so no load of its own comes in between.
    wait_for(
        lambda: (
            browser.execute_script("return window.listingsRead") >= 14
            and browser.find_elements(By.CSS_SELECTOR, ".board:not(.is-loading)")
            and card(browser, lead["id"], "NEW")
        ),
        20,
        "the settled board",
    )

    def held(count: int) -> bool:
        return bool(browser.execute_script("return window.heldListings.length") == count)

    def choose_source(label: str) -> None:
        origin = browser.find_element(By.XPATH, "//label[contains(., 'Origem')]//select")
        Select(origin).select_by_visible_text(label)

    browser.execute_script("window.holdListings = true")
    choose_source("Manual")  # the first load reads the lead in NEW ...
    wait_for(lambda: held(7), 10, "the first load's seven columns read")
    moved = admin.patch(
        f"/api/leads/{lead['id']}", json={"status": "CONTACTED", "version": version}
    )
    assert moved.status_code == 200, moved.text  # ... then it moves, live on the board ...
    wait_for(lambda: card(browser, lead["id"], "CONTACTED"), 10, "the move, live")
    choose_source("Todas")  # ... and a second load reads it in CONTACTED
    wait_for(lambda: held(14), 10, "the second load's columns read")
    browser.execute_script("window.holdListings = false; window.releaseListings(7)")
    browser.execute_script("window.releaseListings(7)")
    wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".board:not(.is-loading)"),
        10,
        "both loads answered",
    )
    assert card(browser, lead["id"], "CONTACTED") is not None
    assert card(browser, lead["id"], "NEW") is None
    assert not browser.find_elements(By.CSS_SELECTOR, ".error-box")


def test_the_lead_page_shows_reasons_timeline_and_livias_transcript(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    phone = new_phone()
    first = "Oi, quero financiar um carro"
    sent = admin.post(
        "/api/dev/whatsapp/livia/inbound", json={"from": phone, "text": first, "push_name": "Davi"}
    )
    assert sent.status_code == 202, sent.text

    def livia_lead() -> dict[str, Any] | None:
        found = admin.get("/api/leads", params={"q": phone[1:]}).json()["data"]
        if not found:
            return None
        detail: dict[str, Any] = admin.get(f"/api/leads/{found[0]['id']}").json()
        conversation = detail["conversation"] or {}
        answered = any(m["author"] == "livia" for m in conversation.get("messages", []))
        return detail if answered and detail["data"]["ai_reasons"] else None

    detail = wait_for(livia_lead, 30, "Lívia's answer and the classification")
    go(driver, system, f"/leads/{detail['data']['id']}")
    reasons = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".reasons li"), 10)
    assert [r.text for r in reasons] == detail["data"]["ai_reasons"]
    timeline = driver.find_elements(By.CSS_SELECTOR, ".timeline > li")
    assert timeline and "Lead criado" in driver.find_element(By.CSS_SELECTOR, ".timeline").text
    transcript = driver.find_element(By.CSS_SELECTOR, ".transcript")
    assert first in transcript.text
    livia_lines = transcript.find_elements(By.CSS_SELECTOR, ".bubble.by-livia")
    assert livia_lines and "Lívia" in livia_lines[0].text


def lead_writes_to_the_consultants(admin: httpx.Client, lead: dict[str, Any], **body: str) -> None:
    """Through the simulator: `text`, or a voice note (`audio_b64`)."""
    sent = admin.post(
        "/api/dev/whatsapp/consultant/inbound",
        json={"from": lead["phone"], "push_name": "Elisa", **body},
    )
    assert sent.status_code == 202, sent.text


def voice_note(audio: bytes) -> str:
    return base64.b64encode(audio).decode()


def test_a_message_sent_from_the_inbox_is_delivered_and_voice_notes_show_their_transcript(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    lead = create_lead(admin, "Elisa Conversa")
    jid = lead["phone"].lstrip("+") + "@s.whatsapp.net"
    lead_writes_to_the_consultants(admin, lead, text="Olá, tenho uma dúvida")
    go(driver, system, "/conversas")
    item = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"li[data-chat-id='{jid}'] a"), 15
    )
    item[0].click()
    box = wait_for(lambda: driver.find_element(By.ID, label_target(driver, "Mensagem")), 10)
    messages = driver.find_element(By.CSS_SELECTOR, ".messages")
    wait_for(lambda: "Olá, tenho uma dúvida" in messages.text)

    # Two voice notes while the chat is open: one the fake Groq hears, one it cannot.
    spoken = "Pode me ligar depois das 18h?"
    lead_writes_to_the_consultants(admin, lead, audio_b64=voice_note(spoken.encode()))
    lead_writes_to_the_consultants(admin, lead, audio_b64=voice_note(b"\xff\xfe\x00"))

    def voice_notes() -> list[str] | None:
        found = driver.find_elements(By.CSS_SELECTOR, ".messages .bubble.in .voice-note")
        return [n.text for n in found] if len(found) == 2 else None

    heard, unheard = wait_for(voice_notes, 15, "both voice notes, live")
    assert heard.endswith("Áudio\n" + spoken)  # after its icon
    assert unheard.endswith("Áudio sem transcrição")
    unread = f"li[data-chat-id='{jid}'] .unread"
    wait_for(lambda: not driver.find_elements(By.CSS_SELECTOR, unread), 5, "the open chat read")

    text = f"Claro! Posso ligar às 15h? ({uuid.uuid4().hex[:6]})"
    box.send_keys(text)
    driver.find_element(By.XPATH, "//button[normalize-space()='Enviar']").click()

    def delivered_bubble() -> bool:
        for bubble in driver.find_elements(By.CSS_SELECTOR, ".messages .bubble.out"):
            if text in bubble.text and bubble.get_attribute("data-status") == "delivered":
                return True
        return False

    wait_for(delivered_bubble, 10, "the message marked delivered")
    outbox = admin.get("/api/dev/whatsapp/consultant/outbox", params={"to": lead["phone"]})
    assert [m["text"] for m in outbox.json()["data"]] == [text]
    history = admin.get(f"/api/chats/{jid}/messages").json()["data"]
    assert [(m["direction"], m["media_type"], m["transcript"], m["status"]) for m in history] == [
        ("in", None, None, "delivered"),
        ("in", "audio", spoken, "delivered"),
        ("in", "audio", None, "delivered"),
        ("out", None, None, "delivered"),
    ]


@pytest.fixture
def livia_paired_at_the_end(admin: httpx.Client) -> Iterator[None]:
    yield
    admin.post("/api/dev/whatsapp/livia/scan")  # whatever happened, leave it connected


def test_the_qr_code_appears_on_the_whatsapp_page_while_pairing(
    driver: WebDriver, system: Cluster, admin: httpx.Client, livia_paired_at_the_end: None
) -> None:
    go(driver, system, "/whatsapp")
    session = "[data-session='livia']"
    connected = f"{session}[data-session-status='connected']"
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, connected))
    assert not driver.find_elements(By.CSS_SELECTOR, f"{session} img.qr-image")
    assert admin.post("/api/whatsapp/sessions/livia/logout").status_code == 202

    image = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, f"{session} img.qr-image"), 10)
    assert str(image[0].get_attribute("alt")).startswith("QR code de pareamento")
    current = admin.get("/api/whatsapp/sessions/livia/qr").json()["data"]["qr"]
    assert image[0].get_attribute("data-qr") == current
    drawn = "return arguments[0].complete && arguments[0].naturalWidth"
    wait_for(lambda: driver.execute_script(drawn, image[0]), 5, "the QR image drawn")

    driver.find_element(By.XPATH, "//button[normalize-space()='Simular leitura do QR']").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, connected), 10, "connected again")
    assert not driver.find_elements(By.CSS_SELECTOR, f"{session} img.qr-image")


def test_a_move_refused_with_409_puts_the_card_back_and_says_why(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    # Without /api/config the page looks for realtime on the gateway, where it is not:
    # the board gets no live updates, so it keeps the version it read.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/config*"]})
    try:
        lead = create_lead(admin, "Gabi Disputada")
        go(driver, system, "/")
        source = wait_for(lambda: card(driver, lead["id"], "NEW"), 10, "the card in NEW")
        current = classified(admin, lead["id"])  # it bumps the version too
        changed = admin.patch(
            f"/api/leads/{lead['id']}",
            json={"notes": "outra pessoa", "version": current["version"]},
        )
        assert changed.status_code == 200, changed.text  # someone else, while the board waits
        target = driver.find_element(By.CSS_SELECTOR, "[data-status='PROPOSAL'] ul")
        (
            ActionChains(driver)
            .click_and_hold(source)
            .move_by_offset(10, 10)
            .move_to_element(target)
            .move_by_offset(0, 5)
            .release()
            .perform()
        )
        toast = wait_for(
            lambda: [t for t in driver.find_elements(By.CSS_SELECTOR, ".toast.error") if t.text],
            10,
            "a toast saying why",
        )
        assert "Gabi Disputada" in toast[0].text and "alguém alterou" in toast[0].text
        wait_for(lambda: card(driver, lead["id"], "NEW"), 5, "the card back in NEW")
        assert card(driver, lead["id"], "PROPOSAL") is None
        assert admin.get(f"/api/leads/{lead['id']}").json()["data"]["status"] == "NEW"
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})


def deactivate(admin: httpx.Client, consultant: dict[str, Any]) -> None:
    deactivated = admin.patch(f"/api/consultants/{consultant['id']}", json={"active": False})
    assert deactivated.status_code == 200, deactivated.text


def login_notice(driver: WebDriver) -> str:
    found = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".login .notice"), 10, "the login notice"
    )
    return str(found[0].text)


def test_a_deactivated_consultant_is_sent_back_to_the_login_page_at_once(
    consultants_page: WebDriver, admin: httpx.Client, consultant: dict[str, Any]
) -> None:
    """Their socket is closed with 4401; the console's refresh is refused."""
    assert not consultants_page.find_elements(By.LINK_TEXT, "Consultores")  # not for them
    wait_for(lambda: live(consultants_page), 20, "the live connection")
    deactivate(admin, consultant)
    assert "sessão terminou" in login_notice(consultants_page)


NO_WEBSOCKETS = """
window.WebSocket = class {
  constructor() { this.readyState = 3; setTimeout(() => this.onclose?.({ code: 1006 }), 10); }
  send() {}
  close() {}
};
window.WebSocket.OPEN = 1;
"""


def test_where_no_live_connection_tells_them_a_deactivated_consultant_meets_the_login_page_next(
    own_browser: WebDriver, system: Cluster, admin: httpx.Client, consultant: dict[str, Any]
) -> None:
    """Behind a proxy that drops sockets and streams, the next request does: its token
    is refused (sessions end at once), and so is the console's refresh."""
    own_browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBSOCKETS})
    own_browser.execute_cdp_cmd("Network.enable", {})
    own_browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/events*"]})
    own_browser.get(system.gateway + "/")
    log_in(own_browser, consultant["email"], consultant["password"])
    deactivate(admin, consultant)
    go(own_browser, system, "/")  # the next thing they do
    assert "sessão terminou" in login_notice(own_browser)


SOCKET_CLOSE_CODES = """
window.socketCloseCodes = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("close", (event) => window.socketCloseCodes.push(event.code));
  }
};
"""


def stored_session(driver: WebDriver) -> dict[str, Any]:
    session: dict[str, Any] = driver.execute_script(
        "return JSON.parse(localStorage.getItem('leadflow.session'))"
    )
    return session


def test_a_socket_closed_with_4401_reconnects_with_a_fresh_token_while_the_session_lasts(
    own_browser: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    own_browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": SOCKET_CLOSE_CODES}
    )
    own_browser.get(system.gateway + "/")
    log_in(own_browser, *TEST_ADMIN)
    # The page starts with an access token that expires in a few seconds, as each one
    # does after ACCESS_TOKEN_TTL: realtime closes the socket with 4401 then. Nothing
    # else on the board asks the API, and the console's own renewal is minutes away.
    claims = verify_access_token(TEST_JWT_SECRET, stored_session(own_browser)["access_token"])
    short_lived = issue_access_token(
        TEST_JWT_SECRET,
        consultant_id=claims.consultant_id,
        role=claims.role,
        ttl_s=6,
        generation=claims.generation,
    )
    own_browser.execute_script(
        "const s = JSON.parse(localStorage.getItem('leadflow.session'));"
        "s.access_token = arguments[0];"
        "localStorage.setItem('leadflow.session', JSON.stringify(s));",
        short_lived,
    )
    go(own_browser, system, "/")
    wait_for(lambda: live(own_browser), 20, "the live connection")
    closed = "return window.socketCloseCodes.includes(4401)"
    wait_for(lambda: own_browser.execute_script(closed), 20, "the socket closed with 4401")
    wait_for(
        lambda: stored_session(own_browser)["access_token"] != short_lived, 10, "a fresh token"
    )
    wait_for(lambda: live(own_browser), 10, "live again")
    lead = create_lead(admin, "Íris Reconectada")
    wait_for(lambda: card(own_browser, lead["id"], "NEW"), 5, "the new card, on the new socket")
    assert not own_browser.find_elements(By.CSS_SELECTOR, ".login")


def test_where_sockets_never_open_the_board_stays_live_over_server_sent_events(
    own_browser: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    """A proxy that drops WebSocket upgrades: the console streams `/api/events` instead."""
    own_browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NO_WEBSOCKETS})
    own_browser.get(system.gateway + "/")
    log_in(own_browser, *TEST_ADMIN)
    wait_for(lambda: live(own_browser), 30)
    lead = create_lead(admin, "Helena Stream")
    created = time.monotonic()
    wait_for(lambda: card(own_browser, lead["id"], "NEW"), 2.0, "the new card, over SSE")
    assert time.monotonic() - created <= 2.0
