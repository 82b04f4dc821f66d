import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { SearchPage } from './pages/SearchPage.tsx';
import { ServicesPage } from './pages/ServicesPage.tsx';
import { TracePage } from './pages/TracePage.tsx';
import { navigate, onLinkClick, useLocation } from './router.ts';

const TRACE_ID_RE = /^[0-9a-fA-F]{32}$/;

/** The application: top bar and the page for the current route. */
export function App() {
  const location = useLocation();
  const traceMatch = /^\/trace\/([^/]+)\/?$/.exec(location.path);
  let page: ComponentChildren;
  let section: 'search' | 'services' | 'trace' = 'search';
  if (traceMatch) {
    section = 'trace';
    page = <TracePage traceId={decodeURIComponent(traceMatch[1]).toLowerCase()} query={location.query} />;
  } else if (location.path === '/services' || location.path === '/services/') {
    section = 'services';
    page = <ServicesPage query={location.query} />;
  } else {
    if (location.path !== '/search') navigate(`/search${window.location.search}`, { replace: true });
    page = <SearchPage query={location.query} />;
  }
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/search" onClick={(e) => onLinkClick(e, '/search')}>
          <Logo />
          Ariadne
        </a>
        <nav class="nav">
          <NavLink href="/search" active={section === 'search'}>
            Search
          </NavLink>
          <NavLink href="/services" active={section === 'services'}>
            Services
          </NavLink>
        </nav>
        <div class="spacer" />
        <TraceJump />
      </header>
      <main class="main">{page}</main>
    </div>
  );
}

function NavLink(props: { href: string; active: boolean; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.active ? 'active' : ''}
      aria-current={props.active ? 'page' : undefined}
      onClick={(e) => onLinkClick(e, props.href)}
    >
      {props.children}
    </a>
  );
}

function Logo() {
  return (
    <svg viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#6d4aff" />
      <path d="M7 9h12M11 16h14M9 23h8" stroke="#fff" stroke-width="3.2" stroke-linecap="round" />
    </svg>
  );
}

/** The trace-id box in the top bar: jumps straight to a trace. */
function TraceJump() {
  const [value, setValue] = useState('');
  const [invalid, setInvalid] = useState(false);
  return (
    <form
      class="jump"
      onSubmit={(e) => {
        e.preventDefault();
        const id = value.trim().toLowerCase();
        if (!TRACE_ID_RE.test(id)) {
          setInvalid(true);
          return;
        }
        setInvalid(false);
        setValue('');
        navigate(`/trace/${id}`);
      }}
    >
      <input
        class="input mono"
        aria-label="Trace ID"
        name="traceId"
        placeholder="Go to trace ID…"
        value={value}
        style={invalid ? { borderColor: 'var(--error)' } : undefined}
        title={invalid ? 'A trace ID is 32 hex characters' : undefined}
        onInput={(e) => {
          setValue(e.currentTarget.value);
          setInvalid(false);
        }}
      />
      <button class="btn" type="submit">
        Open
      </button>
    </form>
  );
}
