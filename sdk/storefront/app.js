// ByteBay, the demo storefront: renders the pages from products.json and records what the
// visitor does with the tracker (window.clickstream, from /sdk/tracker.min.js).
// Events follow the traffic generator's conventions, so demo traffic and generated traffic
// look alike in the warehouse: a product page view carries the product as ecom; clicks carry
// props.element (nav, product_tile, search_result, recommendation); one purchase per cart line.
// Every grid of products is a list: rendering it records an impression (its name and the product
// ids it shows), and a click on one of its cards names it (a list click, for the list CTR).
(function () {
  'use strict';

  var noop = function () {};
  var cs = window.clickstream || {
    page: noop,
    identify: noop,
    flush: function () { return Promise.resolve(); },
    track: { click: noop, impression: noop, search: noop, addToCart: noop, checkout: noop, purchase: noop },
  };
  var CATEGORIES = ['laptops', 'desktops', 'monitors', 'keyboards', 'mice', 'headsets', 'storage',
    'networking', 'components', 'accessories'];
  var CART_KEY = 'bytebay_cart';
  var USER_KEY = 'bytebay_user';
  var params = new URLSearchParams(location.search);
  var main = document.getElementById('main');

  // --- small helpers -------------------------------------------------------------------------

  function h(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child == null || child === false) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function money(amount, currency) {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency }).format(amount);
  }

  function title(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function ecom(product, qty) {
    return {
      product_id: product.id,
      name: product.name,
      category: product.category,
      currency: product.currency,
      price: product.price,
      qty: qty || 1,
    };
  }

  function productUrl(product) {
    return 'product.html?id=' + encodeURIComponent(product.id);
  }

  // --- cart (localStorage) -------------------------------------------------------------------

  function readCart() {
    try {
      return JSON.parse(localStorage.getItem(CART_KEY)) || [];
    } catch (e) {
      return [];
    }
  }

  function writeCart(lines) {
    localStorage.setItem(CART_KEY, JSON.stringify(lines));
    var count = document.getElementById('cart-count');
    if (count) count.textContent = String(cartCount(lines));
  }

  function cartCount(lines) {
    return lines.reduce(function (n, line) { return n + line.qty; }, 0);
  }

  function addToCart(product, qty) {
    var lines = readCart();
    var line = lines.filter(function (l) { return l.id === product.id; })[0];
    if (line) line.qty += qty;
    else lines.push({ id: product.id, qty: qty });
    writeCart(lines);
  }

  // --- header --------------------------------------------------------------------------------

  function renderHeader() {
    var user = localStorage.getItem(USER_KEY);
    var form = h('form', { class: 'search', action: 'search.html', role: 'search' },
      h('input', { type: 'search', name: 'q', placeholder: 'Search laptops, SSDs, docks…', 'aria-label': 'Search' }),
      h('button', { type: 'submit', text: 'Search' }));
    var q = form.querySelector('input');
    q.value = params.get('q') || '';
    var account = h('button', {
      class: 'link',
      id: 'account',
      text: user ? 'Sign out (' + user + ')' : 'Sign in (demo)',
      onclick: function () {
        if (localStorage.getItem(USER_KEY)) {
          localStorage.removeItem(USER_KEY);
          cs.identify(null);
        } else {
          // A demo sign-in: an opaque id, as Cognito's sub would be. Never an e-mail.
          var id = 'demo-' + Math.random().toString(36).slice(2, 10);
          localStorage.setItem(USER_KEY, id);
          cs.identify(id);
        }
        renderHeader();
      },
    });
    var nav = h('nav', { class: 'cats', 'aria-label': 'Categories' });
    CATEGORIES.forEach(function (category) {
      nav.appendChild(h('a', {
        href: 'index.html?category=' + category,
        text: title(category),
        class: params.get('category') === category ? 'active' : '',
        onclick: function () { cs.track.click({ element: 'nav', category: category }); },
      }));
    });
    var top = document.getElementById('top');
    top.textContent = '';
    top.appendChild(h('div', { class: 'bar' },
      h('a', { class: 'logo', href: 'index.html', text: 'ByteBay' }),
      form,
      account,
      h('a', { class: 'cart-link', href: 'cart.html' }, 'Cart ', h('span', { id: 'cart-count', class: 'badge', text: String(cartCount(readCart())) }))));
    top.appendChild(nav);
  }

  // --- product cards -------------------------------------------------------------------------

  function card(product, element, list) {
    var go = function () { cs.track.click({ element: element }, ecom(product), list); };
    return h('article', { class: 'card' },
      h('a', { href: productUrl(product), onclick: go },
        h('div', { class: 'thumb thumb-' + product.category, text: product.category.slice(0, 3).toUpperCase() }),
        h('h3', { text: product.name })),
      h('p', { class: 'muted', text: product.brand + ' · ' + title(product.category) }),
      h('p', { class: 'price', text: money(product.price, product.currency) }));
  }

  // A grid of products: the list `list` shown (an impression when it holds any).
  function grid(products, element, list) {
    var g = h('div', { class: 'grid', 'data-list': list });
    products.forEach(function (p) { g.appendChild(card(p, element, list)); });
    if (products.length) cs.track.impression(list, products.map(function (p) { return p.id; }));
    return g;
  }

  // --- pages ---------------------------------------------------------------------------------

  var pages = {
    home: function (products) {
      var category = params.get('category');
      var shown = category ? products.filter(function (p) { return p.category === category; }) : products;
      return [
        h('h1', { text: category ? title(category) : 'Computers and accessories' }),
        h('p', { class: 'muted', text: shown.length + ' products' }),
        grid(shown, 'product_tile', category ? 'category:' + category : 'home'),
      ];
    },

    product: function (products, byId) {
      var product = byId[params.get('id')];
      if (!product) {
        cs.page({ not_found: true });
        return [h('h1', { text: 'Product not found' }), h('a', { href: 'index.html', text: 'Back to the shop' })];
      }
      document.title = product.name + ' | ByteBay';
      cs.page({}, ecom(product));
      var qty = h('select', { id: 'qty', 'aria-label': 'Quantity' });
      for (var i = 1; i <= 5; i++) qty.appendChild(h('option', { value: String(i), text: String(i) }));
      var status = h('p', { class: 'status', role: 'status' });
      var related = products.filter(function (p) { return p.category === product.category && p.id !== product.id; });
      return [
        h('p', { class: 'crumbs' },
          h('a', { href: 'index.html', text: 'Shop' }), ' / ',
          h('a', { href: 'index.html?category=' + product.category, text: title(product.category) })),
        h('section', { class: 'product' },
          h('div', { class: 'thumb big thumb-' + product.category, text: product.category.slice(0, 3).toUpperCase() }),
          h('div', {},
            h('h1', { text: product.name }),
            h('p', { class: 'muted', text: 'by ' + product.brand + ' · SKU ' + product.id }),
            h('p', { class: 'price big', text: money(product.price, product.currency) }),
            h('p', { class: 'row' },
              h('label', { for: 'qty', text: 'Quantity ' }), qty,
              h('button', {
                class: 'primary',
                id: 'add-to-cart',
                text: 'Add to cart',
                onclick: function () {
                  var n = Number(qty.value);
                  cs.track.addToCart(ecom(product, n), { source: 'product_page' });
                  addToCart(product, n);
                  status.textContent = '';
                  status.append('Added ' + n + ' to your cart. ', h('a', { href: 'cart.html', text: 'View cart' }));
                },
              })),
            status)),
        related.length ? h('h2', { text: 'More ' + product.category }) : null,
        grid(related, 'recommendation', 'recommendations'),
      ];
    },

    search: function (products) {
      var q = (params.get('q') || '').trim();
      var terms = q.toLowerCase().split(/\s+/).filter(Boolean);
      var found = products.filter(function (p) {
        var text = (p.name + ' ' + p.brand + ' ' + p.category).toLowerCase();
        return terms.length && terms.every(function (t) { return text.indexOf(t) >= 0; });
      });
      if (q) cs.track.search(q, { results: found.length });
      return [
        h('h1', { text: q ? 'Results for “' + q + '”' : 'Search' }),
        h('p', { class: 'muted', text: q ? found.length + ' products' : 'Type what you are looking for above.' }),
        grid(found, 'search_result', 'search_results'),
      ];
    },

    cart: function (products, byId) {
      var lines = readCart().filter(function (l) { return byId[l.id]; });
      if (!lines.length) {
        return [h('h1', { text: 'Your cart' }), h('p', { text: 'Your cart is empty. ' }, h('a', { href: 'index.html', text: 'Keep shopping' }))];
      }
      var table = h('table', { class: 'lines' },
        h('thead', {}, h('tr', {}, h('th', { text: 'Product' }), h('th', { text: 'Qty' }), h('th', { text: 'Price' }), h('th', {}))));
      var body = h('tbody', {});
      lines.forEach(function (line) {
        var p = byId[line.id];
        body.appendChild(h('tr', {},
          h('td', {}, h('a', { href: productUrl(p), text: p.name })),
          h('td', { text: String(line.qty) }),
          h('td', { text: money(p.price * line.qty, p.currency) }),
          h('td', {}, h('button', {
            class: 'link',
            text: 'Remove',
            onclick: function () {
              cs.track.click({ element: 'remove_from_cart' }, ecom(p, line.qty));
              writeCart(readCart().filter(function (l) { return l.id !== line.id; }));
              render(products, byId);
            },
          }))));
      });
      table.appendChild(body);
      return [
        h('h1', { text: 'Your cart' }),
        table,
        totals(lines, byId),
        h('p', {}, h('a', { class: 'button primary', href: 'checkout.html', text: 'Proceed to checkout' })),
      ];
    },

    checkout: function (products, byId) {
      var lines = readCart().filter(function (l) { return byId[l.id]; });
      if (!lines.length) {
        return [h('h1', { text: 'Checkout' }), h('p', { text: 'Nothing to check out. ' }, h('a', { href: 'index.html', text: 'Keep shopping' }))];
      }
      cs.track.checkout(null, { items: cartCount(lines) });
      var country = h('select', { id: 'country', 'aria-label': 'Ship to' });
      ['United States', 'Vietnam', 'Germany', 'United Kingdom', 'Japan'].forEach(function (c) {
        country.appendChild(h('option', { text: c }));
      });
      var list = h('ul', { class: 'summary' });
      lines.forEach(function (l) {
        var p = byId[l.id];
        list.appendChild(h('li', { text: l.qty + ' × ' + p.name + ': ' + money(p.price * l.qty, p.currency) }));
      });
      var buy = h('button', {
        class: 'primary',
        id: 'buy',
        text: 'Buy now',
        onclick: function () {
          buy.disabled = true;
          var order = 'ORD-' + Math.random().toString(16).slice(2, 12).toUpperCase();
          lines.forEach(function (l) { cs.track.purchase(ecom(byId[l.id], l.qty), { order_id: order }); });
          writeCart([]);
          cs.flush().then(function () {
            main.textContent = '';
            main.append(
              h('h1', { text: 'Thank you!' }),
              h('p', { id: 'confirmation', text: 'Order ' + order + ' is confirmed (a demo: nothing ships).' }),
              h('a', { href: 'index.html', text: 'Back to the shop' }));
          });
        },
      });
      return [
        h('h1', { text: 'Checkout' }),
        list,
        totals(lines, byId),
        h('p', { class: 'row' }, h('label', { for: 'country', text: 'Ship to ' }), country),
        h('p', { class: 'muted', text: 'Demo payment: no card, name or e-mail needed.' }),
        buy,
      ];
    },
  };

  function totals(lines, byId) {
    var sums = {};
    lines.forEach(function (l) {
      var p = byId[l.id];
      sums[p.currency] = (sums[p.currency] || 0) + p.price * l.qty;
    });
    return h('p', { class: 'total', text: 'Total: ' + Object.keys(sums).map(function (c) { return money(sums[c], c); }).join(' + ') });
  }

  function render(products, byId) {
    var page = pages[document.body.dataset.page] || pages.home;
    main.textContent = '';
    page(products, byId).forEach(function (node) { if (node) main.appendChild(node); });
  }

  renderHeader();
  fetch('products.json')
    .then(function (r) { return r.json(); })
    .then(function (products) {
      var byId = {};
      products.forEach(function (p) { byId[p.id] = p; });
      render(products, byId);
    })
    .catch(function (err) {
      main.textContent = 'Could not load the catalog: ' + err;
    });
})();
