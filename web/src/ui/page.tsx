// A page's frame: sets the document title, and moves focus to the heading when the route changes so
// keyboard and screen-reader users land on the new page rather than on the link they used.
import { type JSX, onMount } from 'solid-js';

export function Page(props: { title: string; actions?: JSX.Element; children: JSX.Element }): JSX.Element {
  let heading: HTMLHeadingElement | undefined;
  onMount(() => {
    document.title = `${props.title} · Phobos Edge`;
    heading?.focus({ preventScroll: true });
  });
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-header">
        <h1 id="page-title" tabindex="-1" ref={heading}>
          {props.title}
        </h1>
        <div class="page-actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}
