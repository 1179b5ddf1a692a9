"""Text as numbers without scikit-learn or scipy: TF-IDF, sparse products, linear models; fitting in a child."""
