"""The bare framework: one Flask "hello" endpoint, served by the same gunicorn configuration as
the platform (`gunicorn -c gunicorn.conf.py bench.hello_app:app`). The yardstick of
bench/throughput_bench.py."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
