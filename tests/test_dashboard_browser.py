"""The dashboard's run controls, fields and page guard in a real browser (Debian's headless
Chromium, driven by Playwright, as in test_browser.py): what the page shows and sends, which
Solara's test renderer cannot tell (a slider's value as Vuetify draws it, the browser's own
dialog before a page with a session in progress is left, the order of a field's blur and a click).
"""

from __future__ import annotations

import time

# test_browser skips its module (so this one too) when Chromium is missing, and fails under CI
from test_browser import DROP, browser, external, month, select, server, watched  # noqa: F401


def open_page(browser, server):  # noqa: F811
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(120_000)  # the other test worker and the browser share two cores
    seen = watched(page)
    page.goto(server)
    page.locator(".peacesim-month").wait_for(timeout=90_000)
    return page, seen


def wait_month(page, n: int) -> None:
    page.wait_for_function(f"() => document.querySelector('.peacesim-month').innerText.startsWith('Month {n} ')")


def test_leaving_a_page_with_a_session_in_progress_asks_first(server, browser):  # noqa: F811
    page, seen = open_page(browser, server)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    page.wait_for_function("() => document.querySelector('.peacesim-leave-guard').dataset.armed === 'yes'")
    assert external(seen) == [] and seen["failed"] == []
    with page.expect_event("dialog", timeout=30_000) as asked:
        page.evaluate("() => { setTimeout(() => location.reload(), 0); }")
    assert asked.value.type == "beforeunload"
    asked.value.dismiss()  # stay: the session is still there, and answers
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 2)
    assert not [u for u in seen["all"] if "/_solara/api/close/" in u]  # the server was not told to free it
    # leave after all: a new session
    page.once("dialog", lambda d: d.accept())
    page.reload()
    page.locator(".peacesim-month").wait_for(timeout=90_000)
    assert month(page) == "Month 0 / 240"
    page.close()

    # a page where nothing was done reloads without asking (after a click, so the browser could ask)
    page, seen = open_page(browser, server)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.get_by_text("Seed and parameters").first.click()
    assert page.locator(".peacesim-leave-guard").get_attribute("data-armed") == "no"
    page.reload()
    page.locator(".peacesim-month").wait_for(timeout=90_000)
    assert dialogs == []
    page.close()


def test_the_gap_months_slider_shows_6_and_reset_during_play_stays_at_month_0(server, browser):  # noqa: F811
    page, seen = open_page(browser, server)
    select(page, "Group of parameters", "funding")
    slider = page.locator(".v-input", has_text="gap_months").locator("[role=slider]").first
    slider.wait_for()
    assert slider.get_attribute("aria-valuenow") == "6"  # it was drawn at 6.12
    page.get_by_text("No parameter changed").first.wait_for()  # and no other value was sent

    page.get_by_role("button", name="▶", exact=True).click()
    wait_month(page, 2)
    page.get_by_role("button", name="Reset", exact=True).click()
    wait_month(page, 0)
    time.sleep(1.5)  # longer than the pause between steps (400 ms)
    assert month(page) == "Month 0 / 240"
    page.get_by_role("button", name="▶", exact=True).wait_for()  # not playing
    assert page.get_by_role("button", name="Step", exact=True).is_enabled()
    assert external(seen) == [] and seen["failed"] == []
    page.close()


def test_an_emptied_count_field_is_refused_when_apply_is_clicked(server, browser):  # noqa: F811
    page, seen = open_page(browser, server)
    select(page, "Intervention", "link_local")
    field = page.get_by_label("count", exact=True)
    field.wait_for()
    field.fill("")
    # straight from the field to the button: the field's last entry reaches the server first
    page.get_by_role("button", name="Apply intervention").click()
    error = page.locator(".peacesim-error").first
    error.wait_for()
    assert error.inner_text().startswith("Not applied: link_local: count cannot be empty"), error.inner_text()
    assert page.locator(".peacesim-ok").count() == 0
    assert external(seen) == [] and seen["failed"] == []
    page.close()



def box_of(locator) -> dict:
    return locator.bounding_box()


def overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_sliders_show_their_values_and_checkboxes_their_labels_once(server, browser):  # noqa: F811
    page, seen = open_page(browser, server)
    row = page.locator(".peacesim-slider", has_text="Months per step").first
    value = row.locator(".peacesim-slider-value")
    assert value.inner_text() == "1" and value.is_visible()  # shown without touching the slider
    label, thumb = row.locator(".v-label").first, row.locator("[role=slider]").first
    assert not overlap(box_of(label), box_of(thumb)) and not overlap(box_of(label), box_of(value))
    assert box_of(row.locator(".v-slider-track")).get("width") >= 200  # the track is not squeezed by the label
    thumb.focus()
    page.keyboard.press("End")
    page.get_by_text("Seed and parameters").first.click()  # the slider no longer focused: its value still shown
    page.wait_for_function("() => [...document.querySelectorAll('.peacesim-slider')].some("
                           "r => r.innerText.includes('Months per step') && "
                           "r.querySelector('.peacesim-slider-value').innerText === '24')")
    pause = page.locator(".peacesim-slider", has_text="Pause between steps").locator(".peacesim-slider-value")
    assert pause.inner_text() == "400"

    select(page, "Intervention", "add_mediator")
    for name in ("links_local", "lead"):
        box = page.locator(".v-checkbox", has_text=name).first
        box.wait_for()
        assert box.inner_text().strip() == name  # once, not "ks_local [ ]links_local"
        card = box_of(page.locator(".v-card", has_text="Intervene now").first)
        lab = box_of(box.locator("label").first)
        assert lab["x"] >= card["x"] and lab["x"] + lab["width"] <= card["x"] + card["width"]
    skill = page.locator(".peacesim-slider", has_text="skill").locator(".peacesim-slider-value")
    assert skill.inner_text() == "0.60"

    # a number of months is typed, with its bounds checked
    select(page, "Intervention", "cut_funding")
    field = page.get_by_label("months", exact=True)
    field.fill("700")
    page.get_by_role("button", name="Apply intervention").click()
    error = page.locator(".peacesim-error").first
    error.wait_for()
    assert error.inner_text().startswith("Not applied: cut_funding: months = 700 is not allowed"), error.inner_text()
    field.fill("12")
    page.get_by_role("button", name="Apply intervention").click()
    page.locator(".peacesim-ok", has_text="cut_funding applied").wait_for()
    assert external(seen) == [] and seen["failed"] == []
    page.close()


def shown_scenario(page) -> str:
    return page.locator(".v-select", has_text="Shipped scenario").first.locator(".v-select__selection").inner_text() \
        if page.locator(".v-select", has_text="Shipped scenario").first.locator(".v-select__selection").count() else ""


def test_a_scenario_chosen_or_dropped_during_a_run_is_loaded_once_confirmed(server, browser):  # noqa: F811
    from peacesim.dashboard.session import ClassroomModel, model_kwargs, replay_toml
    from peacesim.scenario import load_scenario

    page, seen = open_page(browser, server)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    select(page, "Shipped scenario", "contact_group")
    confirm = page.locator(".peacesim-confirm")
    confirm.wait_for()
    assert confirm.inner_text() == "Loading the shipped scenario 'contact_group' discards the run at month 1."
    page.get_by_role("button", name="Cancel", exact=True).click()
    confirm.wait_for(state="detached")
    page.wait_for_function("() => !document.querySelector('.peacesim-confirm')")
    assert month(page) == "Month 1 / 240" and shown_scenario(page) == "reference"

    # the dashboard's own re-run file, named 'reference' like the shipped scenario
    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 4, {"handover_quality": 0.8}))
    page.evaluate(DROP, ["peacesim-session.toml", replay_toml(m, filename="peacesim-session.toml")])
    confirm.wait_for()
    assert confirm.inner_text().startswith("Loading the file peacesim-session.toml discards the run at month 1")
    page.get_by_role("button", name="Load", exact=True).click()
    wait_month(page, 0)
    running = page.locator(".peacesim-running-file")
    running.wait_for()
    assert "peacesim-session.toml" in running.inner_text()
    assert shown_scenario(page) == ""  # not 'reference': the run is the file's
    assert page.get_by_label("Seed", exact=True).input_value() == "4"  # and with the file's seed
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    select(page, "Shipped scenario", "reference")  # the shipped one, loaded once confirmed
    confirm.wait_for()
    page.get_by_role("button", name="Load", exact=True).click()
    wait_month(page, 0)
    running.wait_for(state="detached")
    assert shown_scenario(page) == "reference"
    assert external(seen) == [] and seen["failed"] == []
    page.close()


def test_the_scenarios_title_is_shown_in_full(server, browser):  # noqa: F811
    """The trainer reads the title aloud: it wraps onto more lines rather than ending in '…'."""
    from peacesim.scenario import load_scenario

    page, seen = open_page(browser, server)
    title = load_scenario("reference").title
    shown = page.get_by_text(title, exact=True).first
    shown.wait_for()
    assert shown.evaluate("e => e.scrollWidth <= e.clientWidth && getComputedStyle(e).textOverflow !== 'ellipsis'")
    box = shown.bounding_box()
    assert box["height"] > 30  # on two lines at least: the column is narrower than the title
    page.close()


def test_the_debrief_button_is_on_a_line_of_its_own(server, browser):  # noqa: F811
    """Between the card's text and the re-run command, not inline in the middle of them."""
    page, seen = open_page(browser, server)
    card = page.locator(".v-card", has_text="Export the debrief").last
    text = card.get_by_text("One HTML file with the settings").first.bounding_box()
    btn = card.get_by_role("button", name="Export the debrief").bounding_box()
    rerun = card.get_by_text("Re-run: peacesim run").first.bounding_box()
    assert btn["y"] >= text["y"] + text["height"] - 1
    assert rerun["y"] >= btn["y"] + btn["height"] - 1
    page.close()


def test_a_file_dropped_on_a_new_page_is_loaded_whole(server, browser):  # noqa: F811
    """Dropped at month 0 (nothing to confirm), a session's re-run file is loaded at once: its seed
    and its planned interventions are the run's. The line naming the file appeared above the drop
    zone, which made it a new zone, and Solara stopped the old one's thread in the middle of the
    load: the page named the file but went on with the old run (seed 1, no interventions)."""
    from peacesim.dashboard.session import ClassroomModel, model_kwargs, replay_toml
    from peacesim.scenario import load_scenario

    m = ClassroomModel(**model_kwargs(load_scenario("reference"), 7))
    m.intervene("attack")
    m.intervene("withdraw", actor="the mediation NGO")
    page, seen = open_page(browser, server)
    page.evaluate(DROP, ["peacesim-session.toml", replay_toml(m, filename="peacesim-session.toml")])
    page.locator(".peacesim-running-file").wait_for()
    page.get_by_text("Re-run: peacesim run peacesim-session.toml --seed 7").wait_for(timeout=30_000)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    page.wait_for_function("() => document.querySelector('.peacesim-narrative').innerText.includes('Intervention')")
    page.locator(".v-select", has_text="actor").first.click()
    actors = page.locator(".v-overlay--active .v-list-item").all_inner_texts()
    assert "the mediation NGO" not in actors and "the UN envoy" in actors, actors
    assert external(seen) == [] and seen["failed"] == []
    page.close()


def test_the_spread_is_as_wide_as_the_timeline_and_its_sentence_below_the_button(server, browser):  # noqa: F811
    """Where does our run stand? is read on a projector: the figure in half of the page's width had
    type a few pixels high, and the sentence ran on beside the button."""
    page, seen = open_page(browser, server)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    card = page.locator(".v-card", has_text="Where does our run stand?").last
    card.get_by_role("button", name="Show the spread over many seeds").click()
    sentence = card.locator(".peacesim-standing")
    sentence.wait_for(timeout=120_000)
    btn = card.get_by_role("button", name="Show the spread over many seeds").bounding_box()
    assert sentence.bounding_box()["y"] >= btn["y"] + btn["height"] - 1
    figure = card.locator("img").first
    figure.wait_for()
    timeline = page.locator("img").first.bounding_box()
    assert figure.bounding_box()["width"] >= 0.9 * timeline["width"]
    # the legend's type (12 units of the figure's 1000) at 10 pixels or more on this 1600-pixel page
    assert figure.bounding_box()["width"] / 1000 * 12 >= 10
    assert external(seen) == [] and seen["failed"] == []
    page.close()


def test_the_run_card_fits_a_1024_pixel_projector(server, browser):  # noqa: F811
    """On a 1024 x 768 projector the left column is narrow: Reset, ▶ and Step ran out of the card
    (Reset half cut off) and the sliders' labels were cut ('Pause between s')."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(120_000)
    page.goto(server)
    page.locator(".peacesim-month").wait_for(timeout=90_000)
    card = box_of(page.locator(".v-card", has_text="Pause between steps").first)
    for name in ("Reset", "▶", "Step"):
        b = box_of(page.get_by_role("button", name=name, exact=True))
        assert b["x"] >= card["x"] and b["x"] + b["width"] <= card["x"] + card["width"] + 0.5, name
    for label in ("Pause between steps (ms)", "Months per step"):
        lab = page.locator(".peacesim-slider", has_text=label).locator(".v-label").first
        assert lab.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), label
        assert lab.inner_text() == label
    page.get_by_role("button", name="Step", exact=True).click()
    wait_month(page, 1)
    page.close()
