// The console's frame: masthead (who is signed in, sign out, view as), navigation by role, the
// view-as banner, and the page itself.
import {
  Banner,
  Button,
  Dropdown,
  DropdownItem,
  DropdownList,
  Flex,
  FlexItem,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  MenuToggle,
  Nav,
  NavExpandable,
  NavItem,
  NavList,
  Page,
  PageSidebar,
  PageSidebarBody,
  PageToggleButton,
  SkipToContent,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { BarsIcon, EyeIcon } from '@patternfly/react-icons';
import { type ReactNode, useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';

import { roleLabel } from './roles';
import { NAVIGATION, type NavEntry } from './navigation';
import { useSession } from './session';
import { ViewAsModal } from './ViewAsModal';
import { RouterLink } from '../components/RouterLink';

function NavLinkItem({ entry }: { entry: NavEntry }) {
  const location = useLocation();
  const active = entry.exact ? location.pathname === entry.path : location.pathname.startsWith(entry.path);
  return (
    <NavItem itemId={entry.path} isActive={active} to={entry.path} component={RouterLink}>
      {entry.label}
    </NavItem>
  );
}

function Navigation() {
  const { can } = useSession();
  const location = useLocation();
  return (
    <Nav aria-label="Headwater">
      <NavList>
        {NAVIGATION.map((section) => {
          const entries = section.entries.filter((entry) => entry.visible?.(can) ?? true);
          if (entries.length === 0) return null;
          if (section.title === null) return entries.map((entry) => <NavLinkItem key={entry.path} entry={entry} />);
          const active = entries.some((entry) => location.pathname.startsWith(entry.path));
          return (
            <NavExpandable key={section.title} title={section.title} isExpanded isActive={active}>
              {entries.map((entry) => (
                <NavLinkItem key={entry.path} entry={entry} />
              ))}
            </NavExpandable>
          );
        })}
      </NavList>
    </Nav>
  );
}

function UserMenu() {
  const { me, can, signOut } = useSession();
  const [open, setOpen] = useState(false);
  const [viewAsOpen, setViewAsOpen] = useState(false);
  return (
    <>
      <Dropdown
        isOpen={open}
        onOpenChange={setOpen}
        popperProps={{ position: 'right' }}
        toggle={(ref) => (
          <MenuToggle ref={ref} variant="plainText" onClick={() => setOpen(!open)} isExpanded={open}>
            {me.name} <span className="pf-v6-u-text-color-subtle">({roleLabel(me)})</span>
          </MenuToggle>
        )}
      >
        <DropdownList>
          {can.isAdmin && !can.readOnly && (
            <DropdownItem key="view-as" icon={<EyeIcon />} onClick={() => setViewAsOpen(true)}>
              View as user…
            </DropdownItem>
          )}
          <DropdownItem key="sign-out" onClick={() => void signOut()}>
            Sign out
          </DropdownItem>
        </DropdownList>
      </Dropdown>
      {viewAsOpen && <ViewAsModal onClose={() => setViewAsOpen(false)} />}
    </>
  );
}

function ViewAsBanner() {
  const { me, viewAs } = useSession();
  if (!me.viewing_as_by) return null;
  return (
    <Banner color="yellow" screenReaderText="Viewing as another user">
      <Flex justifyContent={{ default: 'justifyContentCenter' }} alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          Viewing as <strong>{me.name}</strong>, read-only (you are {me.viewing_as_by}).
        </FlexItem>
        <FlexItem>
          <Button variant="link" isInline onClick={() => void viewAs(null)}>
            Stop viewing as {me.name}
          </Button>
        </FlexItem>
      </Flex>
    </Banner>
  );
}

export function AppLayout({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Global navigation">
            <BarsIcon />
          </PageToggleButton>
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo
            component="a"
            href="/"
            onClick={(event: React.MouseEvent) => {
              event.preventDefault();
              void navigate('/');
            }}
          >
            <span className="hw-brand">Headwater</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight isStatic>
          <ToolbarContent>
            <ToolbarGroup align={{ default: 'alignEnd' }}>
              <ToolbarItem>
                <UserMenu />
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Navigation />
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page
      masthead={masthead}
      sidebar={sidebar}
      isManagedSidebar
      skipToContent={<SkipToContent href="#main-content">Skip to content</SkipToContent>}
      mainContainerId="main-content"
      banner={<ViewAsBanner />}
    >
      {children}
    </Page>
  );
}
