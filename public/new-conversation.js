// The "New conversation" button: starts over. It stops the reply and its speech, ends the old session (session.end:
// the server closes it at once instead of keeping it for a resume, and the page forgets its resume token), empties
// the log and connects again, so the server starts a new session with an empty history. Owns that button only.

export function bindNewConversation({ button, conversation, link, connection, log, onStart }) {
  button.addEventListener('click', () => {
    conversation.startOver();
    link.send({ type: 'session.end' });
    link.forget();
    log.clear();
    connection.restart();
    onStart();
  });
}
