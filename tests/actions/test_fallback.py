from actions.fallback import ActionDefaultAskAffirmation


def test_affirmation_names_the_best_guess_in_words(load_tracker, dispatcher):
    ActionDefaultAskAffirmation().run(dispatcher, load_tracker("nlu_fallback"), {})

    assert dispatcher.texts == [
        "Sorry, I'm not sure I understood. Do you want to open a support ticket?"
    ]
    assert dispatcher.buttons == [[
        {"title": "Yes", "payload": "/open_ticket"},
        {"title": "No, something else", "payload": "/out_of_scope"},
    ]]


def test_without_a_guess_it_asks_to_rephrase(load_tracker, dispatcher):
    tracker = load_tracker("nlu_fallback", latest_message={"intent_ranking": [{"name": "nlu_fallback"}]})

    ActionDefaultAskAffirmation().run(dispatcher, tracker, {})

    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"
