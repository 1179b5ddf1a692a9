"""Rasa's logistic-regression intent classifier, saved as plain arrays instead of skops.

Rasa's own LogisticRegressionClassifier persists with skops, whose loader imports every scikit-learn
estimator to build its list of trusted types: 20 s of a 30 s restart on two cores. The fitted model is
three arrays, so they are stored with numpy (no pickle) and put back on a fresh LogisticRegression.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Text

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(LogisticRegressionClassifier):
    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as model_dir:
            np.savez(model_dir / "classifier.npz", coef=self.clf.coef_, intercept=self.clf.intercept_,
                     classes=np.asarray(self.clf.classes_, dtype=str))

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentClassifier":
        component = cls(config, execution_context.node_name, model_storage, resource)
        try:
            with model_storage.read_from(resource) as model_dir:
                with np.load(model_dir / "classifier.npz", allow_pickle=False) as arrays:
                    component.clf.coef_ = arrays["coef"]
                    component.clf.intercept_ = arrays["intercept"]
                    component.clf.classes_ = arrays["classes"].astype(object)
        except (ValueError, FileNotFoundError):
            # An untrained classifier (no intents in the data): Rasa's own class behaves the same way.
            logger.debug("intent_classifier_missing resource=%s", resource.name)
            return component
        component.clf.n_features_in_ = component.clf.coef_.shape[1]
        return component
