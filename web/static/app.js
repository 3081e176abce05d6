// The only script of peakguard's UI (the CSP forbids inline script): progress text on long forms and a
// confirmation on destructive ones. Every form works without it.
document.addEventListener('submit', (ev) => {
  const form = ev.target
  if (!(form instanceof HTMLFormElement)) return
  const question = form.dataset.confirm
  if (question && !window.confirm(question)) {
    ev.preventDefault()
    return
  }
  const text = form.dataset.progress
  if (text) {
    // the live region is in the page from the start (empty): only its text changes, so it is announced
    const p = form.querySelector('.progress')
    if (p) p.textContent = text
    // one submit only: a second click must not queue a second restore
    for (const b of form.querySelectorAll('button[type=submit]')) b.disabled = true
  }
})

// back from the back/forward cache: the buttons a submit disabled work again
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted) for (const b of document.querySelectorAll('form[data-progress] button[type=submit]')) b.disabled = false
})
