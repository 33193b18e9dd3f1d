"""The official MathVerse two-step LLM scoring, against any OpenAI-compatible chat endpoint (off by default).

Step 1 (`extract_answer_s1.py`): the demo prompt + "Model response: '<response>'\\nExtracted Answer: ";
the reply, with a repeated "Extracted Answer: " removed, is the extraction.
Step 2 (`score_answer_s2.py`): the scoring prompt filled with the question, the standard answer and the
extraction; the reply, with "Judgement:" removed, must be "0" or "1" (upstream retries until it is; here
`retries` times, then an error naming the record). Upstream uses gpt-3.5-turbo / GPT-4 at temperature 0,
max_tokens 256. Only the Python standard library is used (urllib); nothing is sent unless configured.

Prompts: upstream `evaluation/prompts.py` at ZrrSkywalker/MathVerse commit ac31a9c8b92e (the current one:
its scoring demo has five examples, two of them the circle/BC choice question), verbatim, filled with
`str.format` as upstream. The question is the dataset's `question_for_eval` (hub) or, without it, the
question text without the project's `<image>` placeholders (upstream's `question` field); the standard
answer is upstream's `answer` field verbatim (a choice's letter; multi-line answers keep every line).

HTTP: a redirect is never followed (the request fails with an error naming the new location), so the
bearer key is never sent to another origin and a POST never turns into a GET.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from data_zoo.example import IMAGE_PLACEHOLDER

EXTRACT_DEMO = """
I am providing you a response from a model to a math problem, termed 'Model Response'. You should extract the answer from the response as 'Extracted Answer'. Directly output the extracted answer with no explanation.

1.
Model response: 'Rounded to two decimal places, the perimeter of the sector is approximately:\n\n(-2, 1)'
Extracted Answer: (-2, 1)

2.
Model response: 'at those points.\n\nTherefore, the correct option that represents the meaning of the intersection points of the graphs is:\n\nD. They give the solutions to the equation $f(t)=g(t)$.",'
Extracted Answer: D

3.
Model response: ' at 1 (there's a closed circle at y = 1), the range in interval notation is \\((-4, 1]\\).\n\nFinal values:\nDomain: \\((-3, 3]\\)\nRange: \\((-4, 1]\\)'
Extracted Answer: Domain: \\((-3, 3]\\)\nRange: \\((-4, 1]\\)

4.
Model response: 'As it stands, I cannot provide the correct option letter because there isn't enough information to solve for 'y'.'
Extracted Answer: null

5.
Model response: 'Given that AB = 17.6 meters, we can now substitute into the equation:\n\nd = 17.6 / cos(38\u00b0)\n\nTherefore, to one decimal place, the distance d between Ned and Bart is approximately 22.3 meters.'
Extracted answer: 22.3

6.
Model response:  have all the coefficients for the quadratic function:\n\\( f(x) = ax^2 + bx + c \\)\n\\( f(x) = -1x^2 - 2x + 1 \\)\n\nTherefore, the equation for the graphed function \\( f \\) is:\n\\( f(x) = -x^2 - 2x + 1 \\)"'
Extracted answer: f(x) = -x^2 - 2x + 1

7.
"""

SCORE_DEMO = """
Below are two answers to a math question. Question is [Question], [Standard Answer] is the standard answer to the question, and [Model_answer] is the answer extracted from a model's output to this question.  Determine whether these two answers are consistent.
Please note that only when the [Model_answer] completely matches the [Standard Answer] means they are consistent. For non-multiple-choice questions, if the meaning is expressed in the same way, it is also considered consistent, for example, 0.5m and 50cm.
If they are consistent, Judement is 1; if they are different, Judement is 0.

[Question]: Write the set of numbers represented on the number line in interval notation.
[Standard Answer]: (-2,1]
[Model_answer] : Extracted Answer: \\((-2, 1)\\)
Judgement: 0

[Question]: As shown in the figure, circle O has a radius 1.0, if angle BAC = 60.0, then the length of BC is ()\nChoices:\nA:2\nB:2\u221a{{3}}\nC:\u221a{{3}}\nD:2\u221a{{2}}
[Standard Answer]: C
[Model_answer] : B:2\u221a{{3}}
Judgement: 0

[Question]: Find the domain and range of the function f using interval notation.
[Standard Answer]: domain: [-4, 0) and range: (-3, 1]
[Model_answer] : Range: \\((-4, 1]\\)
Judgement: 0

[Question]: As shown in the figure, circle O has a radius 1.0, if angle BAC = 60.0, then the length of BC is ()\nChoices:\nA:2\nB:2\u221a{{3}}\nC:\u221a{{3}}\nD:2\u221a{{2}}
[Standard Answer]: C
[Model_answer] : null
Judgement: 0

[Question]: Given the graph of the ellipse that intersects with x-axis at 9 and -9 and with y-axis at 3 and -3, determine its equation.A. \\frac{{x^2}}{{81}} + \\frac{{y^2}}{{9}} = 1 B. Can not determine.\n
[Standard Answer]: A
[Model_answer] : \\frac{{x^2}}{{81}} + \\frac{{y^2}}{{9}} = 1
Judgement: 1

[Question]: {question}
[Standard Answer]: {gt}
[Model_answer] : {extraction}
Judgement: """

LABEL = "official two-step LLM judge (extract + score) via {model}"


class JudgeError(RuntimeError):
    """The endpoint failed or kept answering outside the expected format."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib would re-send the headers (the bearer key) to the new location, which
    may be another origin, and turn a 301/302/303 POST into a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(
            req.full_url, code, f"redirect to {newurl!r} not followed; use the final URL as --judge-url",
            headers, fp,
        )


_OPENER = urllib.request.build_opener(_NoRedirect)


def extract_prompt(response: str) -> str:
    return f"{EXTRACT_DEMO.strip()}\n\nModel response: '{response}'\nExtracted Answer: "


def score_prompt(question: str, gold: str, extraction: str) -> str:
    # str.format, as upstream: the doubled braces of the demo become single ones.
    return SCORE_DEMO.strip().format(question=question, gt=gold, extraction=extraction)


def question_for_eval(example) -> str:
    """Upstream's question for the judge: the hub's `question_for_eval`, else the question text as
    published (the project's `<image>` placeholders removed)."""
    q = example.metadata.get("question_for_eval")
    return str(q) if q else example.question.replace(IMAGE_PLACEHOLDER, "")


def standard_answer(example) -> str:
    """Upstream's `answer` field: the letter of a choice question, else the answer verbatim (every line)."""
    return example.gold_letter if example.answer_kind == "choice" and example.gold_letter else example.answer


def parse_extraction(reply: str) -> str:
    return reply.replace("Extracted Answer: ", "").strip()


def parse_judgement(reply: str) -> int | None:
    text = reply.replace("Judgement:", "").strip()
    return int(text) if text in ("0", "1") else None


@dataclass
class JudgeClient:
    """Chat-completions client: POST {base_url}/chat/completions with a bearer key when given."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0
    max_tokens: int = 256
    retries: int = 3

    def request(self, prompt: str) -> urllib.request.Request:
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "n": 1,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        return urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")

    def chat(self, prompt: str) -> str:
        req = self.request(prompt)
        try:
            with _OPENER.open(req, timeout=self.timeout_s) as resp:
                payload = json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as e:
            raise JudgeError(f"judge endpoint {req.full_url} failed: {e}") from e
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as e:
            raise JudgeError(f"judge endpoint {req.full_url}: unexpected reply {str(payload)[:200]}") from e
        return (content or "").strip()

    def judge(self, example, response: str, *, extracted: bool = False):
        """Official two-step score of one response -> uec_vlm.rewards.Grade. extracted: `response` is
        already step 1's extraction; only the scoring step runs."""
        from uec_vlm.rewards import Grade

        extraction = response.strip() if extracted else parse_extraction(self.chat(extract_prompt(response)))
        prompt = score_prompt(question_for_eval(example), standard_answer(example), extraction)
        for _ in range(self.retries):
            reply = self.chat(prompt)
            verdict = parse_judgement(reply)
            if verdict is not None:
                return Grade(
                    correct=verdict == 1,
                    extracted=extraction or None,
                    path=f"mathverse:llm_judge:{self.model}",
                    reason=f"extraction {extraction!r}; judgement {verdict}",
                )
        raise JudgeError(f"mathverse record {example.id}: judge replied {reply!r}, not 0/1, {self.retries} times")
