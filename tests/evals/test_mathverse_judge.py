"""The MathVerse LLM judge against a real HTTP server on 127.0.0.1 (no external network)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from data_zoo.example import Example
from evals.benchmarks import mathverse_judge as mj


def serve(handler):
    """Start a local HTTP server for `handler` on a free port: (server, its /v1 base URL)."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def stop(server):
    server.shutdown()
    server.server_close()


class Endpoint:
    """A tiny OpenAI-compatible server replying with scripted contents and recording each request."""

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": outer.replies.pop(0)}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args):
                pass

        self.server, self.url = serve(Handler)

    def close(self):
        stop(self.server)


@pytest.fixture
def example():
    return Example(id="3421", source="mathverse", split="testmini", question="<image>Which angle?\nChoices:\nA:40°\nB:140°",
                   answer="140°", answer_kind="choice", choices=["40°", "140°"], gold_letter="B",
                   metadata={"problem_version": "Text Dominant", "subject": "Plane Geometry"})


def test_two_step_judge_builds_official_prompts_and_parses(example):
    ep = Endpoint(["Extracted Answer: B", "Judgement: 1"])
    try:
        g = mj.JudgeClient(ep.url + "/", "judge-model", api_key="k123").judge(example, "so it is B")
    finally:
        ep.close()
    assert (g.correct, g.extracted, g.path) == (True, "B", "mathverse:llm_judge:judge-model")
    first, second = ep.requests
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer k123"
    body = first["body"]
    assert (body["model"], body["temperature"], body["max_tokens"], body["n"]) == ("judge-model", 0, 256, 1)
    prompt = body["messages"][0]["content"]
    assert prompt.startswith("I am providing you a response from a model to a math problem")
    assert prompt.endswith("7.\n\nModel response: 'so it is B'\nExtracted Answer: ")
    score = second["body"]["messages"][0]["content"]
    # The standard answer of a choice question is its letter; str.format un-doubles the demo's braces.
    assert score.endswith("[Question]: Which angle?\nChoices:\nA:40°\nB:140°\n[Standard Answer]: B\n"
                          "[Model_answer] : B\nJudgement:")
    assert "\\frac{x^2}{81}" in score


def test_judge_retries_then_fails_naming_the_record(example):
    ep = Endpoint(["B", "maybe", "probably", "yes"])
    try:
        with pytest.raises(mj.JudgeError, match="mathverse record 3421"):
            mj.JudgeClient(ep.url, "m", retries=3).judge(example, "B")
    finally:
        ep.close()
    assert len(ep.requests) == 4 and ep.requests[0]["auth"] is None


def test_parsers_and_unreachable_endpoint():
    assert mj.parse_judgement("Judgement: 0") == 0 and mj.parse_judgement(" 1 ") == 1
    assert mj.parse_judgement("1.0") is None
    assert mj.parse_extraction("Extracted Answer: 22.3 ") == "22.3"
    with pytest.raises(mj.JudgeError, match="failed"):
        mj.JudgeClient("http://127.0.0.1:9", "m", timeout_s=2).chat("hi")


def test_current_upstream_prompts_question_for_eval_and_multiline_gold(example):
    # The current upstream scoring demo (MathVerse ac31a9c): the circle/BC choice example, "√" unescaped.
    assert "[Model_answer] : B:2\u221a{{3}}\nJudgement: 0" in mj.SCORE_DEMO
    assert mj.SCORE_DEMO.count("[Question]: As shown in the figure, circle O") == 2
    ex = Example(id="440", source="mathverse", split="testmini", question="<image>Which two?", answer="C\nD",
                 answer_kind="text", metadata={"question_for_eval": "Which two? Choices: A B C D"})
    assert mj.question_for_eval(ex) == "Which two? Choices: A B C D"
    assert mj.question_for_eval(example) == "Which angle?\nChoices:\nA:40°\nB:140°"  # no <image> placeholder
    assert mj.standard_answer(ex) == "C\nD"  # every line of a multi-line gold
    ep = Endpoint(["Judgement: 1"])
    try:  # an already-extracted answer skips step 1
        g = mj.JudgeClient(ep.url, "m").judge(ex, " C, D ", extracted=True)
    finally:
        ep.close()
    assert (g.correct, g.extracted, len(ep.requests)) == (True, "C, D", 1)
    assert "[Standard Answer]: C\nD\n[Model_answer] : C, D\nJudgement:" in ep.requests[0]["body"]["messages"][0]["content"]


class Redirecting:
    """An endpoint answering every POST with `code` and a Location on another origin (another port)."""

    def __init__(self, code, target):
        outer = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(self.headers.get("Authorization"))
                self.send_response(code)
                self.send_header("Location", target + "/v1/chat/completions")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server, self.url = serve(Handler)

    def close(self):
        stop(self.server)


class Recording:
    """The redirect's target: records any request (method, Authorization) that reaches it."""

    def __init__(self):
        outer = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                outer.requests.append((self.command, self.headers.get("Authorization")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        self.server, base = serve(Handler)
        self.url = base.removesuffix("/v1")  # the origin: the redirect target appends its own path

    def close(self):
        stop(self.server)


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_cross_origin_redirect_is_refused_and_the_key_never_leaves(code):
    target = Recording()
    source = Redirecting(code, target.url)
    try:
        with pytest.raises(mj.JudgeError, match=f"HTTP Error {code}.*not followed"):
            mj.JudgeClient(source.url, "m", api_key="secret-key", timeout_s=5).chat("hi")
    finally:
        source.close()
        target.close()
    assert source.requests == ["Bearer secret-key"]  # the configured endpoint got the key, once
    assert target.requests == []  # nothing reached the other origin: no key, and no POST turned GET
