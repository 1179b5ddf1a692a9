/*
 * Forms that destroy something ask first: <form data-confirm="Delete this?"> shows the question and
 * submits only when it is accepted. A static script, as the Content-Security-Policy allows no inline
 * handlers.
 */
(function () {
  "use strict";

  document.addEventListener("submit", (event) => {
    const question = event.target instanceof HTMLFormElement ? event.target.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
