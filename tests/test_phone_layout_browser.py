"""Every page on a phone held upright (390 x 844): no button or chart title lies under another element
(a table's toolbar, a chart's modebar, a colour bar), and nothing is wider than the screen.

An element counts as covered when `document.elementFromPoint` at points across it finds something
that is neither it nor inside it. The toolbars show while the pointer is on their table or chart
(after a tap on a phone), so each table and chart is hovered in turn and what is on screen checked."""

import pytest
from conftest import settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAULTS = """(scroll) => {
    const width = document.documentElement.clientWidth, height = window.innerHeight, faults = [];
    const header = document.querySelector('[data-testid="stHeader"]').getBoundingClientRect().bottom;
    const owner = hit => {
        const named = hit.closest('.modebar, .colorbar, .legend, [data-testid]');
        return named ? (named.getAttribute('data-testid') || named.getAttribute('class')) : hit.tagName;
    };
    for (const element of document.querySelectorAll('button, .gtitle')) {
        let box = element.getBoundingClientRect();
        if (!element.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;  // closed, faded out
        if (box.right <= 0 || box.left >= width) continue;  // in the closed sidebar, off the screen
        const title = element.matches('.gtitle');
        const what = `${title ? 'chart title' : 'button'} "${(element.getAttribute('aria-label')
            || element.textContent).trim().slice(0, 60)}"`;
        if (box.left < -0.5 || box.right > width + 0.5) faults.push(`${what} goes past the screen's edge`);
        const chart = title && element.closest('.js-plotly-plot').getBoundingClientRect();
        if (chart && (box.left < chart.left - 0.5 || box.right > chart.right + 0.5)) faults.push(`${what} is cut by its chart`);
        if (scroll) {
            element.scrollIntoView({block: 'center'});
            box = element.getBoundingClientRect();
        } else if (box.top < header || box.bottom > height) {  // scrolled under the page's header, or off screen
            continue;
        }
        const pointerEvents = element.style.pointerEvents;
        element.style.pointerEvents = 'all';  // titles and disabled buttons ignore the pointer
        for (const across of [0.15, 0.5, 0.85]) {
            const hit = document.elementFromPoint(box.left + across * box.width, box.top + box.height / 2);
            if (hit && hit !== element && !element.contains(hit)) {
                faults.push(`${what} is under ${owner(hit)}`);
                break;
            }
        }
        element.style.pointerEvents = pointerEvents;
    }
    for (const box of [document.documentElement, document.querySelector('[data-testid="stMain"]')]) {
        if (box.scrollWidth > box.clientWidth + 1) faults.push(`the page is ${box.scrollWidth} pixels wide`);
    }
    return faults;
}"""

# Scroll a table or chart so that its top edge is a third of the way down the screen: its toolbar, which
# rises above that edge, and whatever it could cover are then on screen to be checked.
TOP_A_THIRD_DOWN = """(element) => {
    element.scrollIntoView({block: 'start'});
    let scroller = element.parentElement;
    while (scroller && !(/auto|scroll/.test(getComputedStyle(scroller).overflowY)
                         && scroller.scrollHeight > scroller.clientHeight)) scroller = scroller.parentElement;
    (scroller || document.scrollingElement).scrollBy(0, -window.innerHeight / 3);
}"""


def _open(page, server: str, path: str, shown: str) -> None:
    """Open the app first: a deep link as a server's first visit runs the page alone (Streamlit's
    pages-folder mode) until the entry script has called st.navigation."""
    page.goto(server)
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    page.goto(f"{server}/{path}")
    page.get_by_text(shown).first.wait_for(timeout=60_000)


def _tab(name: str):
    def show(page):
        page.get_by_role("tab", name=name).click()
    return show


def _find_hosts(page):
    page.get_by_label("Objectives").fill("medical devices and biotechnology")
    page.get_by_role("button", name="Find hosts").click()
    page.get_by_text("10 hosts for").wait_for(timeout=60_000)


def _run_budget(page):
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)


# page: (its path, a text it shows, what a person does there first, the charts it then shows)
PAGES = {
    "at a glance": ("", "Organisations", None, 3),
    "uptake: pipeline and targets": ("uptake", "Visitors registered", None, 3),
    "uptake: flows": ("uptake", "Visitors registered", _tab("Flows"), 3),
    "uptake: money per partnership": ("uptake", "Visitors registered", _tab("Money per partnership"), 1),
    "uptake: stays": ("uptake", "Visitors registered", _tab("Stays"), 2),
    "uptake: group missions": ("uptake", "Visitors registered", _tab("Group missions"), 0),
    "uptake: data quality": ("uptake", "Visitors registered", _tab("Data quality"), 0),
    "exchange map": ("map", "Shade countries by exchanges", None, 1),
    "find a host, with hosts": ("find_a_host", "Pick the visiting organisation", _find_hosts, 1),
    "budget, with a result": ("budget", "Ceilings and host-country mix", _run_budget, 2),
    "budget: planned exchanges": ("budget", "Ceilings and host-country mix", _tab("Planned exchanges"), 0),
    "budget: compare saved scenarios": ("budget", "Ceilings and host-country mix", _tab("Compare saved scenarios"), 0),
    "data: import": ("data", "Import", None, 0),
    "data: export": ("data", "Import", _tab("Export"), 0),
    "data: templates": ("data", "Import", _tab("Templates"), 0),
    "exchanges": ("exchanges", "Move an exchange on", None, 1),
    "exchange steps": ("exchange", "Exchange steps", None, 0),
    "group missions": ("missions", "Plan a mission", None, 0),
    "find a visitor": ("find_a_visitor", "Find a visitor", None, 0),
    "registrations": ("registrations", "Registrations", None, 0),
    "accounts": ("accounts", "Save the account", None, 0),
}


# Known, left for the lead: since main's missions (a fourth kind), the Templates tab's Markdown table of
# columns is 438 pixels wide on a 390-pixel phone (a Markdown table does not scroll in Streamlit).
@pytest.mark.parametrize("name", PAGES)
def test_nothing_covers_a_button_or_chart_title_at_390_pixels(name, module_server, phone_page, tmp_path):
    path, shown, act, charts = PAGES[name]
    page = phone_page
    _open(page, module_server, path, shown)
    if act:
        act(page)
    page.wait_for_function("""(charts) => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .filter(chart => chart.checkVisibility() && chart.querySelector('.main-svg .gtitle')).length >= charts""",
                           arg=charts, timeout=60_000)
    settle(page)  # the script has stopped: every table and chart of the page is there to check
    page.wait_for_timeout(1500)  # plotly and MapLibre finish drawing
    page.screenshot(path=tmp_path / "phone.png")

    faults = page.evaluate(FAULTS, True)
    for toolbar_owner in page.locator('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"]').all():
        if toolbar_owner.is_visible():
            toolbar_owner.evaluate(TOP_A_THIRD_DOWN)  # what lies above it on screen too, wherever the last check left off
            toolbar_owner.hover(position={"x": 12, "y": 12})
            page.wait_for_timeout(300)
            faults += page.evaluate(FAULTS, False)
    assert sorted(set(faults)) == []
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.blocked == []


HEADLINE = """() => {
    const figures = [...document.querySelectorAll('[data-testid="stMetric"]')].map(figure => figure.getBoundingClientRect());
    const labels = [...document.querySelectorAll('[data-testid="stMetricLabel"] p, [data-testid="stMetricValue"] div')];
    return {tops: figures.map(box => Math.round(box.top)), height: Math.round(Math.max(...figures.map(box => box.bottom))
            - Math.min(...figures.map(box => box.top))), cut: labels.filter(text => text.scrollWidth > text.clientWidth + 1)
            .map(text => text.textContent)};
}"""


def test_uptake_s_headline_figures_stand_two_abreast_on_a_phone(module_server, phone_page, tmp_path):
    """Eighteen figures in three groups: at most ceil(n / 2) rows per group (one under the other they
    would fill more than two screens), and no label or value cut short."""
    page = phone_page
    _open(page, module_server, "uptake", "Visitors registered")
    page.locator('[data-testid="stMetric"]').nth(17).wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=tmp_path / "headline.png", full_page=True)
    shown = page.evaluate(HEADLINE)
    print(f"\nheadline figures at 390 px: {len(set(shown['tops']))} rows, {shown['height']} px high")
    assert len(shown["tops"]) == 18
    assert len(set(shown["tops"])) <= 3 + 3 + 4  # the groups of 5, 7 and 6 figures, two abreast
    assert shown["cut"] == []
    assert page.blocked == []
