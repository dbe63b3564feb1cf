// A react-router link for PatternFly's `component` props (NavItem, Button): one stable component, so
// a re-render between mouse-down and click never replaces the element under the pointer.
// PatternFly hands it `href` (NavItem's `to`); Button's callers pass `href` themselves.
import { type AnchorHTMLAttributes, forwardRef } from 'react';
import { Link } from 'react-router-dom';

export const RouterLink = forwardRef<HTMLAnchorElement, AnchorHTMLAttributes<HTMLAnchorElement>>(function RouterLink(
  { href, ...props },
  ref,
) {
  return <Link ref={ref} to={href ?? '/'} {...props} />;
});
