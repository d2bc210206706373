"""Open every page of the app on a database file this process may not write, then import on the
Data page; print what each showed as JSON. A process of its own, so a test running as root can
start it without the capability that lets root write any file (`setpriv`).

    python tests/read_only_app.py DB
"""

import json
import os
import re
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cx import PROJECT_ROOT  # noqa: E402
from cx import io as cio  # noqa: E402

APP = str(PROJECT_ROOT / "app.py")


def shown(app: AppTest) -> dict:
    return {"exception": [str(e.value) for e in app.exception], "error": [e.value for e in app.error],
            "title": [t.value for t in app.title]}


def main(db: str) -> None:
    os.environ["CX_DB"] = db
    try:
        open(db, "r+b").close()
        writable = True
    except PermissionError:
        writable = False
    pages = re.findall(r'st\.Page\("(app_pages/[^"]+)"', Path(APP).read_text())
    found = {"writable": writable, "pages": {}}
    for page in pages:
        found["pages"][page] = shown(AppTest.from_file(APP, default_timeout=120).switch_page(page).run())
    app = AppTest.from_file(APP, default_timeout=120).switch_page("app_pages/data.py").run()
    app.selectbox(key="import_kind").set_value("organisations")
    app.file_uploader(key="import_file").upload("organisations.csv", cio.template_path("organisations").read_bytes())
    app.run()
    app.button(key="import_go").click().run()
    found["import"] = shown(app)
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
