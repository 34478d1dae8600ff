"""Secret redaction: each known shape, near misses that must survive, stable placeholders, PEM blocks."""

from __future__ import annotations

import base64
import random
import re
import string
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spark_lsp.engine.redaction import Redaction, contains_placeholder, redact

# Secrets are assembled at run time so that this file itself never holds a token-shaped literal
# (secret scanners, push protection, and our own redaction when the repository is edited).
_RANDOM = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def _random(length: int, alphabet: str = _ALNUM) -> str:
    """Random text that has a digit, a lower- and an upper-case letter where the alphabet allows."""
    while True:
        text = "".join(_RANDOM.choice(alphabet) for _ in range(length))
        digit = not set(alphabet) & set(string.digits) or any(c.isdigit() for c in text)
        upper = not set(alphabet) & set(string.ascii_uppercase) or any(c.isupper() for c in text)
        if digit and upper:
            return text


def _p(*parts: str) -> str:
    """Join parts (keeps prefixes such as `gh` + `p_` apart in the source)."""
    return "".join(parts)


AWS_ID = _p("AK", "IA", _random(16, string.ascii_uppercase + "234567"))
AWS_SECRET = _random(40, _ALNUM + "/+")
GITHUB = _p("gh", "p_", _random(36))
GITHUB_FINE = _p("github", "_pat_", _random(22), "_", _random(59))
GITLAB = _p("gl", "pat-", _random(20))
SLACK = _p("xo", "xb-", "1234567890-1234567890123-", _random(24))
SLACK_HOOK_PATH = _p(
    "T", _random(8, string.ascii_uppercase + string.digits), "/B", "01234567", "/", _random(24)
)
STRIPE = _p("sk", "_live_", _random(24))
GOOGLE = _p("AI", "za", _random(35, _ALNUM + "_-"))
OPENAI = _p("sk", "-proj-", _random(48, _ALNUM + "_-"))
OPENAI_LEGACY = _p("sk", "-", _random(48))
ANTHROPIC = _p("sk", "-ant-api03-", _random(93, _ALNUM + "_-"), "AA")
CEREBRAS = _p("cs", "k-", _random(48, string.ascii_lowercase + string.digits))
HUGGINGFACE = _p("h", "f_", _random(34, string.ascii_letters))
NPM = _p("np", "m_", _random(36))
PYPI = _p("py", "pi-", "AgEIcHlwaS5vcmc", _random(70, _ALNUM + "_-"))
TWILIO = _p("S", "K", _random(32, "0123456789abcdef"))
SENDGRID = _p("S", "G.", _random(22, _ALNUM + "_-"), ".", _random(43, _ALNUM + "_-"))
JWT = ".".join(
    base64.urlsafe_b64encode(part.encode()).decode().rstrip("=")
    for part in (
        '{"alg":"HS256","typ":"JWT"}',
        '{"sub":"1234567890","name":"Jo","iat":1516239022}',
        _random(32),
    )
)
BASIC = base64.b64encode(b"admin:" + _random(12).encode()).decode()


POSITIVES = [
    ("aws-access-key", f'aws_access_key_id = "{AWS_ID}"', AWS_ID),
    ("aws-secret-key", f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"', AWS_SECRET),
    ("aws-secret-key", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    ("aws-secret-key", f'  secretAccessKey: "{AWS_SECRET}",', AWS_SECRET),
    ("github-token", f'headers = {{"Authorization": "token {GITHUB}"}}', GITHUB),
    ("github-token", f"GH_TOKEN={GITHUB_FINE}", GITHUB_FINE),
    ("gitlab-token", f"gitlab = Gitlab(url, private_token='{GITLAB}')", GITLAB),
    ("slack-token", f'client = WebClient(token="{SLACK}")', SLACK),
    ("slack-webhook", f'URL = "https://hooks.slack.com/services/{SLACK_HOOK_PATH}"', SLACK_HOOK_PATH),
    ("stripe-key", f"stripe.api_key = '{STRIPE}'", STRIPE),
    ("google-api-key", f"const maps = new Maps({{ key: '{GOOGLE}' }});", GOOGLE),
    ("openai-key", f'client = OpenAI(api_key="{OPENAI}")', OPENAI),
    ("openai-key", f"OPENAI_API_KEY={OPENAI_LEGACY}", OPENAI_LEGACY),
    ("anthropic-key", f'anthropic.Anthropic(api_key="{ANTHROPIC}")', ANTHROPIC),
    ("cerebras-key", f'Cerebras(api_key="{CEREBRAS}")', CEREBRAS),
    ("huggingface-token", f'login("{HUGGINGFACE}")', HUGGINGFACE),
    ("npm-token", f"//registry.npmjs.org/:_authToken={NPM}", NPM),
    ("pypi-token", f"password = {PYPI}", PYPI),
    ("twilio-key", f'client = Client("{TWILIO}", secret)', TWILIO),
    ("sendgrid-key", f"sg = SendGridAPIClient('{SENDGRID}')", SENDGRID),
    ("jwt", f"curl -H 'X-Session: {JWT}' https://api.example.com", JWT),
    (
        "bearer-token",
        'fetch(url, {headers: {Authorization: "Bearer 4f9c2e7a1b3d5f6e8a9c0b1d2e3f4a5b"}})',
        None,
    ),
    ("basic-auth", f'headers["Authorization"] = "Basic {BASIC}"', BASIC),
    ("password", 'DATABASE_URL = "postgres://app:Sup3r-S3cret@db.internal:5432/app"', "Sup3r-S3cret"),
    ("password", "redis://:hunter2hunter2@cache:6379/0", "hunter2hunter2"),
    ("password", 'conn = "Server=db;User Id=sa;Password=Pa55w0rd!;"', "Pa55w0rd!"),
    ("password", 'password = "hunter22"', "hunter22"),
    ("password", "DB_PASSWORD=s3cr3t-x", "s3cr3t-x"),
    ("password", "export PGPASSWORD='n0t-a-placeholder'", "n0t-a-placeholder"),
    ("password", "  password: Kx9!mQ2#z", "Kx9!mQ2#z"),
    ("password", 'connect(host, user="app", passwd="Tr0ub4dor&3")', "Tr0ub4dor&3"),
    ("password", 'self.password: str = "correct horse battery staple"', "correct horse battery staple"),
    ("password", '$db_pass = "m4ria-db";', "m4ria-db"),
    ("secret", '  "apiKey": "AbC123dEf456GhI789",', "AbC123dEf456GhI789"),
    ("secret", "client_secret => 'f3e1b2c4d5a6978'", "f3e1b2c4d5a6978"),
    ("secret", "SECRET_KEY = 'django-insecure-7x#k2$9qz!w'", "django-insecure-7x#k2$9qz!w"),
    ("secret", "webhookSecret := `wh-8f7e6d5c`", "wh-8f7e6d5c"),
    ("secret", "X-Api-Key: 9b2e7c4d1a", "9b2e7c4d1a"),
    ("secret", "token = 'abc123xyz'", "abc123xyz"),
    ("password", "      <password>m4ven-Pa55</password>", "m4ven-Pa55"),
    ("password", "psql --password=Pg-s3cret --host db", "Pg-s3cret"),
    ("secret", "ENV API_KEY=9f8e7d6c5b4a", "9f8e7d6c5b4a"),
]


@pytest.mark.parametrize(
    ("kind", "line", "secret"), POSITIVES, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(POSITIVES)]
)
def test_each_shape_is_redacted_in_place(kind: str, line: str, secret: str | None) -> None:
    result = redact(line)
    assert f"<redacted:{kind}>" in result.text, result.text
    if secret is not None:
        assert secret not in result.text
        # Only the secret goes: the code around it (quotes, names, operators) stays as it was.
        assert result.text == line.replace(secret, f"<redacted:{kind}>")
    assert [found.kind for found in result.secrets] == [kind]


NEGATIVES = [
    'commit = "3f786850e387550fdab836ed7e6dc881de23001b"',
    'request_id = "123e4567-e89b-12d3-a456-426614174000"',
    'ICON = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGXRFWHRTb2Z0d2FyZQ=="',
    'password = os.environ["PW"]',
    "token = get_token()",
    'password = "changeme"',
    'password = ""',
    "password = 'xxxxxxxx'",
    'api_key = "<your-api-key>"',
    'API_KEY = "YOUR_API_KEY_HERE"',
    "token: ${GITHUB_TOKEN}",
    'password = "{{ vault_db_password }}"',
    "secret = process.env.SECRET",
    "const token = req.headers.authorization;",
    "password: string;",
    "api_key: str | None = None",
    "token = secret_token",
    "max_tokens = 64",
    'tokenizer = "cl100k_base"',
    'TOKEN_URL = "https://oauth2.example.com/token"',
    'if token == "include":',
    "token = r'[A-Za-z_][A-Za-z0-9_]*'",
    "Token: '#ddd0c0',",
    "type RequestCredentials = 'omit' | 'include' | 'same-origin'",
    'bypass = "cache-only-mode"',
    'cache_key = "user:42:profile"',
    'eos_token = "<|endoftext|>"',
    'pad_token = "[PAD]"',
    'refresh = "refresh_token"',
    "msg = 'Pass :meth:`peek` a default value'",
    "git clone ssh://git@github.com:22/org/repo.git",
    "url = 'https://user@example.com/path'",
    "icsk->icsk_ca_ops->release(sk);",
    'label = "sk-loading-spinner"',
    'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',
    'PUBLISHABLE = "pk_live_51H8xyzABCDEFGHIJKLMNOP"',
    "AKIA_PREFIX = 'AKIA'",
    'mode = "Bearer"',
    "# Authorization: Bearer <token>",
    "<password>${env.REPO_PASSWORD}</password>",
    "run --token=$TOKEN",
    "parser.add_argument('--password', default=None)",
]


@pytest.mark.parametrize("line", NEGATIVES)
def test_near_misses_survive(line: str) -> None:
    result = redact(line)
    assert result.secrets == ()
    assert result.text == line


def test_same_secret_same_placeholder_and_stable_between_keystrokes() -> None:
    before = f'GITHUB = "{GITHUB}"\nOTHER = "{_p("gh", "p_", _random(36))}"\n'
    result = redact(before)
    assert result.text == 'GITHUB = "<redacted:github-token>"\nOTHER = "<redacted:github-token>"\n'
    assert redact(before).text == result.text
    # Typing below the secrets changes nothing above: the prompt's start stays byte-identical.
    for typed in ("d", "de", "def", "def f(x):\n    return x"):
        assert redact(before + typed).text.startswith(result.text)


def test_every_occurrence_of_a_found_secret_goes() -> None:
    code = 'DB_PASSWORD = "hunter22"\n\nlogin("admin", "hunter22")  # hunter22\n'
    result = redact(code)
    assert "hunter22" not in result.text
    assert result.text.count("<redacted:password>") == 3


def test_offsets_map_across_placeholders() -> None:
    code = f'x = 1\nkey = "{GITHUB}"\ny = 2'
    result = redact(code)
    start = code.index(GITHUB)
    assert result.map_offset(0) == 0
    assert result.map_offset(start) == start
    assert result.map_offset(start + 5) is None
    after = code.index("y = 2")
    assert result.text[result.map_offset(after) or 0 :] == "y = 2"
    assert result.secrets[0].placeholder == "<redacted:github-token>"


# --- Private keys ---

KEY_BODY = "\n".join(_random(64, _ALNUM + "+/") for _ in range(6)) + "\n" + _random(20, _ALNUM + "+/") + "=="


def _pem(kind: str = "RSA PRIVATE KEY") -> str:
    return f"-----BEGIN {kind}-----\n{KEY_BODY}\n-----END {kind}-----"


@pytest.mark.parametrize("kind", ["RSA PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])
def test_multi_line_pem_block(kind: str) -> None:
    code = f'KEY = """{_pem(kind)}\n"""\nprint(KEY)\n'
    result = redact(code)
    assert result.text == 'KEY = """<redacted:private-key>\n"""\nprint(KEY)\n'


def test_pem_in_escaped_and_concatenated_strings() -> None:
    lines = KEY_BODY.split("\n")
    escaped = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(lines) + "\\n-----END PRIVATE KEY-----\\n"
    assert redact(f"pem = '{escaped}'").text == "pem = '<redacted:private-key>\\n'"
    # Under a secret's name the whole value goes (the key and the `\n` after it).
    assert redact(f'{{"private_key": "{escaped}"}}').text == '{"private_key": "<redacted:private-key>"}'
    concatenated = (
        'KEY = (\n    "-----BEGIN EC PRIVATE KEY-----\\n"\n'
        + "".join(f'    "{line}\\n"\n' for line in lines)
        + '    "-----END EC PRIVATE KEY-----\\n"\n)\n'
    )
    assert redact(concatenated).text == 'KEY = (\n    "<redacted:private-key>\\n"\n)\n'


def test_encrypted_pem_with_headers() -> None:
    block = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF\n\n"
        f"{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
    )
    assert redact(block).text == "<redacted:private-key>\n"


def test_pem_cut_by_the_window_edges() -> None:
    lines = KEY_BODY.split("\n")
    # The window ends inside the key: everything from BEGIN on goes.
    head = "def load():\n    return '''-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines[:3]) + "\n"
    assert redact(head).text == "def load():\n    return '''<redacted:private-key>\n"
    # The window starts inside the key: everything up to END goes, and the code after stays.
    tail = "\n".join(lines[3:]) + "\n-----END OPENSSH PRIVATE KEY-----'''\n\nprint(load())\n"
    assert redact(tail).text == "<redacted:private-key>'''\n\nprint(load())\n"


def test_pem_markers_without_key_material_are_code() -> None:
    code = 'BEGIN = "-----BEGIN PRIVATE KEY-----"\nEND = "-----END PRIVATE KEY-----"\n'
    assert redact(code).secrets == ()
    # A marker in code before a real key does not swallow the code between them.
    code = f'MARKER = "-----BEGIN PRIVATE KEY-----"\nx = 1\nKEY = """{_pem("PRIVATE KEY")}"""\n'
    assert (
        redact(code).text
        == 'MARKER = "-----BEGIN PRIVATE KEY-----"\nx = 1\nKEY = """<redacted:private-key>"""\n'
    )


# --- Model output ---


def test_placeholders_in_model_output_are_detected() -> None:
    assert contains_placeholder('client = Client(token="<redacted:github-token>")')
    assert contains_placeholder("key = <REDACTED:secret>")
    assert contains_placeholder("x = '< redacted : password >'")
    assert not contains_placeholder("client = Client(token=os.environ['GITHUB_TOKEN'])")
    assert not contains_placeholder("# the value is redacted in logs")


# --- Properties ---

_PLACEHOLDER = re.compile(r"<redacted:[a-z-]+>")


def _leaks(result: Redaction, original: str) -> list[str]:
    """Found secrets still visible outside placeholders."""
    visible = _PLACEHOLDER.split(result.text)
    return [
        original[found.start : found.end]
        for found in result.secrets
        if any(original[found.start : found.end] in part for part in visible)
    ]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_and_never_leaks_on_arbitrary_text(text: str) -> None:
    result = redact(text)
    assert _leaks(result, text) == []
    if not result.secrets:
        assert result.text == text


_CODE_BITS = st.sampled_from(
    [
        "x = 1\n",
        "token = ",
        "password: ",
        '"',
        "'",
        " ",
        "\n",
        "=",
        ":",
        "AKIA",
        "ghp_",
        "sk-",
        "-----BEGIN ",
        "://a:",
    ]
)
_SECRETS = st.sampled_from(
    [AWS_ID, GITHUB, SLACK, STRIPE, GOOGLE, OPENAI, ANTHROPIC, CEREBRAS, NPM, SENDGRID, JWT]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_CODE_BITS, st.text(max_size=8)), max_size=12), _SECRETS, st.integers(0, 12))
def test_a_known_token_anywhere_is_always_redacted(bits: list[str], secret: str, at: int) -> None:
    # Separated from its neighbours like a token in code (not glued into a longer word).
    text = "".join(bits[:at]) + " " + secret + " " + "".join(bits[at:])
    result = redact(text)
    assert secret not in result.text
    assert _leaks(result, text) == []


_KEY_LINE = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC"
_MARKERS = ["-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"]
_PIECES = st.sampled_from([*"abcAB12 =:\"'\n-_/@.;", "password", "token", "://", *_MARKERS, _KEY_LINE])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40))
def test_never_leaks_on_code_like_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _leaks(redact(text), text) == []


def test_redaction_speed_on_a_prompt_window() -> None:
    sources = sorted(Path(__file__).parents[2].joinpath("server/spark_lsp").rglob("*.py"))
    code = "\n".join(path.read_text() for path in sources)
    windows = [code[i : i + 8192] for i in range(0, len(code) - 8192, 8192)][:100]
    with_secret = [window[:4000] + f'\napi_key = "{OPENAI}"\n' + window[4000:8000] for window in windows]
    timings = {}
    for label, batch in (("typical code", windows), ("with a secret", with_secret)):
        started = time.perf_counter()
        for _ in range(3):
            for window in batch:
                redact(window)
        timings[label] = (time.perf_counter() - started) / (3 * len(batch))
    print(
        f"\nredact, 8 KB window ({len(windows)} windows of this repository's code): "
        + ", ".join(f"{label} {seconds * 1e6:.0f} us" for label, seconds in timings.items())
    )
