#!/usr/bin/env python3
"""pagecheck.py: the office's page in a real headless Chromium, driven
through chromedriver's WebDriver HTTP API with Python's standard library
(no Selenium, nothing downloaded).

  pagecheck.py URL USER PASSWORD OUTDIR

Prints one JSON object: the browser console of each page (a probe page
that logs an error first, to show the capture works), what the DOM shows
(pilots and their status, verdict codes, the exam page's rooms and
incidents, the biweekly rows and their download links, the text of the
page without a login) and writes screenshots OUTDIR/office-*.png at
1280 px wide.
"""
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.request

url, user, password, outdir = sys.argv[1:5]
host = url.split("//", 1)[1]
authed = "http://%s:%s@%s" % (user, password, host)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    return p

port = free_port()
profile = tempfile.mkdtemp(prefix="office-chrome-")
drv = subprocess.Popen(["chromedriver", "--port=%d" % port],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = "http://127.0.0.1:%d" % port

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["value"]

try:
    for _ in range(100):
        try:
            call("GET", "/status"); break
        except Exception:
            time.sleep(0.1)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile, "--window-size=1280,900",
            "--lang=zh-CN"]
    sid = call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "browserName": "chrome", "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})["sessionId"]
    S = "/session/" + sid

    def go(u):
        call("POST", S + "/url", {"url": u})
        return call("POST", S + "/se/log", {"type": "browser"})

    def js(script):
        return call("POST", S + "/execute/sync", {"script": script, "args": []})

    def shot(name):
        h = js("return Math.min(document.documentElement.scrollHeight, 2400)")
        call("POST", S + "/window/rect", {"width": 1280, "height": max(900, h + 120)})
        png = base64.b64decode(call("GET", S + "/screenshot"))
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(png)
        call("POST", S + "/window/rect", {"width": 1280, "height": 900})

    out = {}
    out["probe"] = go("data:text/html,<script>console.error('probe-console-error')</script>")
    out["unauth_console"] = go(url + "/")
    out["unauth_text"] = js("return document.body ? document.body.innerText : ''")
    out["unauth_pilots"] = js("return document.querySelectorAll('[data-pilot]').length")
    out["overview_console"] = go(authed + "/")
    out["title"] = js("return document.title")
    out["pilots"] = js("""return [...document.querySelectorAll('section[data-pilot]')].map(s => ({
        name: s.dataset.pilot,
        status: s.querySelector('h3 .badge').dataset.status,
        verdicts: [...s.querySelectorAll('ul.verdicts li')].map(l => l.dataset.code),
        charts: s.querySelectorAll('svg.chart rect').length,
        exams: s.querySelectorAll('table tr').length - 1}))""")
    out["stylesheet_applied"] = js(
        "return getComputedStyle(document.querySelector('header')).backgroundColor")
    out["scripts"] = js("return document.scripts.length")
    out["external"] = js("""return [...document.querySelectorAll('[src],[href]')]
        .map(e => e.getAttribute('src') || e.getAttribute('href'))
        .filter(u => /^[a-z]+:\\/\\//i.test(u))""")
    shot("office-overview.png")
    # drill down as a person does: the exam's link on the overview
    el = call("POST", S + "/element", {"using": "xpath",
                                       "value": "//a[text()='CLOUD-1']"})
    call("POST", S + "/element/%s/click" % list(el.values())[0], {})
    for _ in range(100):
        if js("return document.readyState") == "complete" and \
                "/exam" in js("return location.pathname"):
            break
        time.sleep(0.05)
    out["exam_url"] = js("return location.pathname + location.search")
    out["exam_console"] = call("POST", S + "/se/log", {"type": "browser"})
    out["exam_rooms"] = js("""return [...document.querySelectorAll('h2')].filter(h => h.textContent.startsWith('考场'))
        .map(h => [...h.nextElementSibling.querySelectorAll('tr')].slice(1).map(r => r.cells[0].textContent))[0]""")
    out["exam_text"] = js("return document.body.innerText")
    out["exam_incidents"] = js("""return [...document.querySelectorAll('table')].map(t => t.innerText).pop() || ''""")
    shot("office-exam.png")
    out["biweekly_console"] = go(authed + "/biweekly")
    out["biweekly_rows"] = js("return [...document.querySelectorAll('tr[data-period]')].map(r => r.dataset.period)")
    out["biweekly_links"] = js("return [...document.querySelectorAll('tr[data-period] a')].map(a => a.getAttribute('href'))")
    shot("office-biweekly.png")
    call("DELETE", S)
    print(json.dumps(out, ensure_ascii=False))
finally:
    drv.terminate()
    drv.wait()
    subprocess.run(["rm", "-rf", profile])
