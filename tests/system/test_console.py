"""The console in a real browser, against every service in its own process with realtime
on its own origin (as `make cluster` runs them): what a user does, checked as they would."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from leadflow.service import SERVICE_NAMES
from leadflow.testing.fixtures import TEST_ADMIN
from leadflow.testing.processes import Cluster, running_cluster
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.system.browser import chromium, wait_for

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def system(module_cluster_env: dict[str, str]) -> Iterator[Cluster]:
    """Realtime first, so the gateway can tell the console where it is."""
    env = {**module_cluster_env, "CONSOLE_ORIGINS": "*", "LIVIA_DEBOUNCE_MS": "0"}
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
        wait_for(lambda: browser.find_elements(By.XPATH, "//label[text()='E-mail']"))
        field = browser.find_element(By.ID, label_target(browser, "E-mail"))
        field.send_keys(TEST_ADMIN[0])
        browser.find_element(By.ID, label_target(browser, "Senha")).send_keys(TEST_ADMIN[1])
        browser.find_element(By.XPATH, "//button[normalize-space()='Entrar']").click()
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-status='NEW']"), 20)
        yield browser
    finally:
        browser.quit()


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


def test_the_board_has_one_column_per_status(driver: WebDriver) -> None:
    columns = driver.find_elements(By.CSS_SELECTOR, "section[data-status]")
    assert [c.get_attribute("data-status") for c in columns] == [
        "NEW", "QUALIFYING", "QUALIFIED", "CONTACTED", "PROPOSAL", "WON", "LOST",
    ]  # fmt: skip
    assert "Novo" in columns[0].text and "Contatado" in columns[3].text


def test_a_lead_created_through_the_api_appears_on_the_board_within_two_seconds(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    go(driver, system, "/")
    wait_for(lambda: "Ao vivo" in driver.find_element(By.CSS_SELECTOR, ".live").text, 20)
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
    source = wait_for(lambda: card(driver, lead["id"], "NEW"), 10, "the card in NEW")
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


def test_a_message_sent_from_the_inbox_is_delivered(
    driver: WebDriver, system: Cluster, admin: httpx.Client
) -> None:
    lead = create_lead(admin, "Elisa Conversa")
    jid = lead["phone"].lstrip("+") + "@s.whatsapp.net"
    inbound = admin.post(
        "/api/dev/whatsapp/consultant/inbound",
        json={"from": lead["phone"], "text": "Olá, tenho uma dúvida", "push_name": "Elisa"},
    )
    assert inbound.status_code == 202, inbound.text
    go(driver, system, "/conversas")
    item = wait_for(
        lambda: driver.find_elements(By.CSS_SELECTOR, f"li[data-chat-id='{jid}'] a"), 15
    )
    item[0].click()
    box = wait_for(lambda: driver.find_element(By.ID, label_target(driver, "Mensagem")), 10)
    messages = driver.find_element(By.CSS_SELECTOR, ".messages")
    wait_for(lambda: "Olá, tenho uma dúvida" in messages.text)
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
