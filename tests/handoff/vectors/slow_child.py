"""A child that never answers in time (test_child.py)."""
import time

if __name__ == "__main__":
    time.sleep(60)
