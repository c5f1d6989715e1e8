// Production bundle (abridged): the whole shop renders in the browser from a private GraphQL API.
const q=`query Products{products(first:24){nodes{handle title priceRange{minVariantPrice{amount currencyCode}}}}}`;
async function load(){const r=await fetch("/api/graphql",{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({query:q})});return (await r.json()).data.products.nodes}
function render(p){document.getElementById("root").innerHTML=p.map(x=>`<a href="/products/${x.handle}">${x.title}</a>`).join("")}
load().then(render);
