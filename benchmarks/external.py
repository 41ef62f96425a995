"""Real labelled customer text that is not ours to ship: read from a folder, split once, never tuned on.

Two sets of short customer-service posts with 3-class sentiment (negative / neutral / positive), as
their annotators labelled them. Neither may be redistributed or trained on by the product (see
``benchmarks/data/README.md``), so they are not in the repository: put the files in
``$WORKBENCH_BENCH_DATA`` (default ``/work/ext``) and the benchmarks use them; without them those
lines are skipped with a note.

* ``en_airline_tweets.csv`` — Twitter US Airline Sentiment (Figure Eight "Data for Everyone", CC
  BY-NC-SA 4.0), 14,640 tweets to six US airlines, Feb 2015: ``git show HEAD:Tweets.csv`` of
  github.com/Ramlah0/Twitter-US-Airline-Sentiment-Analysis @ b485e56d824c.
* ``es_airline_tweets.csv`` — Spanish airline tweets (Kaggle competition "Spanish Arilines Tweets
  Sentiment Analysis", 2017–2018; no licence stated: measurement only), 7,867 tweets:
  ``git show HEAD:tweets_public.csv`` of github.com/cmiglio/solfamidas_sentiment_analysis @ 784844e1ca42.

Split by ``sha1(tweet_id) % 10``: ``< 3`` → ``tune`` (examples to learn from and settings to choose
on), else ``test`` (scored, never looked at while tuning).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

FOLDER = Path(os.environ.get("WORKBENCH_BENCH_DATA", "/work/ext"))
FILES = {"en": ("en_airline_tweets.csv", "459a0a7259369f3c831bb9adba509703c76b0e3707614b1be65883bc8e6bab9e"),
         "es": ("es_airline_tweets.csv", "281f71ef2c3bff2dc45b0e0348504a8a0ec22386826eb03e33b069cc5f122f55")}


def airline(lang: str) -> pd.DataFrame | None:
    """``tweet_id, text, sentiment, part`` for ``lang`` (en/es), or None when the file is absent."""
    name, digest = FILES[lang]
    path = FOLDER / name
    if not path.exists():
        print(f"  (skipped: {path} not found; see benchmarks/external.py for where to get it)")
        return None
    if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise SystemExit(f"{path} is not the file the benchmark was defined on (sha256 differs).")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df = df.rename(columns={"airline_sentiment": "sentiment"})[["tweet_id", "text", "sentiment"]]
    df = df[df["text"].str.strip() != ""].drop_duplicates("tweet_id").reset_index(drop=True)
    df["part"] = ["tune" if int(hashlib.sha1(i.encode()).hexdigest(), 16) % 10 < 3 else "test" for i in df["tweet_id"]]
    return df
